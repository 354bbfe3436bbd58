import { execFile, execFileSync, spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EnvironmentError } from '../core/errors.js';
import { currentOwner, ownerIsGone } from './lab-dirs.js';

const run = promisify(execFile);

/**
 * Pod sandboxes as a kubelet's CNI bridge plugin leaves them: each pod its own network namespace,
 * a veth pair from its `eth0` into the lab's bridge, the pod IP kwok gave it, and a default route
 * through the bridge; with a sidecar, Istio's interception rules in the pod's nat table, as
 * istio-init writes them from its container's args (`istioIptablesRules`). The kernel, iproute2
 * and iptables are real; only the rule writer stands in for `pilot-agent istio-iptables`.
 *
 * Every name (bridge, namespaces, veths) carries a random tag of this network, and the network
 * records them with its owner process in the machine's registry (/run/mesh-verify/pod-networks/
 * <tag>.json), so that `sweepOrphanedPodNetworks` removes what a lab killed outright left behind
 * (its processes die with it; namespaces and links outlive it). Needs root (CAP_NET_ADMIN).
 */
export interface PodSandbox {
  /** The pod (namespace/name) it belongs to. */
  pod: string;
  ip: string;
  /** The network namespace's name (`ip netns`) and its path (for nsenter --net=). */
  netns: string;
  path: string;
}

/** istio-init's settings (`istio-iptables` flags, REDIRECT mode). */
export interface IstioIptables {
  /** -p: where outbound TCP goes (virtualOutbound). */
  outboundPort: number;
  /** -z: where inbound TCP goes (virtualInbound). */
  inboundPort: number;
  /** -u / -g: the proxy's uid and gid, whose own traffic is not captured. */
  proxyUid: number;
  proxyGid: number;
  /** -d: inbound ports left alone (with 15008, which Istio always excludes). */
  excludeInboundPorts: number[];
}

/** The settings of istio-init's args (`istio-iptables -p 15001 -z 15006 -u 1337 -m REDIRECT ... -d 15090,15021,15020`). */
export function parseIstioIptablesArgs(args: readonly string[]): IstioIptables {
  const flag = (short: string, long: string): string | undefined => {
    for (let i = 0; i < args.length; i += 1) {
      const a = args[i]!;
      if (a === short || a === long) return args[i + 1];
      if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    }
    return undefined;
  };
  const num = (v: string | undefined, fallback: number): number => (v !== undefined && /^\d+$/.test(v) ? Number(v) : fallback);
  const mode = flag('-m', '--istio-inbound-interception-mode') ?? 'REDIRECT';
  if (mode !== 'REDIRECT') throw new EnvironmentError(`the lab's pod network supports istio-init's REDIRECT mode only, not ${mode}`, 'use Istio\'s default interception mode (REDIRECT)');
  const uid = num(flag('-u', '--proxy-uid'), 1337);
  return {
    outboundPort: num(flag('-p', '--envoy-port'), 15001),
    inboundPort: num(flag('-z', '--inbound-capture-port'), 15006),
    proxyUid: uid,
    proxyGid: num(flag('-g', '--proxy-gid'), uid),
    excludeInboundPorts: (flag('-d', '--local-exclude-ports') ?? '').split(',').filter((p) => /^\d+$/.test(p)).map(Number),
  };
}

/**
 * The nat table istio-iptables writes for a sidecar in REDIRECT mode (IPv4, every inbound port
 * captured, every outbound address), as `iptables-restore` input: the rule set of Istio's
 * tools/istio-iptables, as `iptables-save` shows it in an injected pod.
 */
export function istioIptablesRules(o: IstioIptables): string {
  const exclude = [15008, ...o.excludeInboundPorts.filter((p) => p !== 15008)];
  return [
    '*nat',
    ':ISTIO_INBOUND - [0:0]', ':ISTIO_IN_REDIRECT - [0:0]', ':ISTIO_OUTPUT - [0:0]', ':ISTIO_REDIRECT - [0:0]',
    '-A PREROUTING -p tcp -j ISTIO_INBOUND',
    '-A OUTPUT -j ISTIO_OUTPUT',
    ...exclude.map((p) => `-A ISTIO_INBOUND -p tcp -m tcp --dport ${p} -j RETURN`),
    '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
    `-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${o.inboundPort}`,
    '-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN',
    `-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m tcp ! --dport 15008 -m owner --uid-owner ${o.proxyUid} -j ISTIO_IN_REDIRECT`,
    `-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner ${o.proxyUid} -j RETURN`,
    `-A ISTIO_OUTPUT -m owner --uid-owner ${o.proxyUid} -j RETURN`,
    `-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m tcp ! --dport 15008 -m owner --gid-owner ${o.proxyGid} -j ISTIO_IN_REDIRECT`,
    `-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner ${o.proxyGid} -j RETURN`,
    `-A ISTIO_OUTPUT -m owner --gid-owner ${o.proxyGid} -j RETURN`,
    '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    `-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports ${o.outboundPort}`,
    'COMMIT',
    '',
  ].join('\n');
}

const TOOLS = {
  ip: ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'],
  'iptables-restore': ['/usr/sbin/iptables-restore', '/sbin/iptables-restore'],
  nsenter: ['/usr/bin/nsenter', '/bin/nsenter'],
  socat: ['/usr/bin/socat', '/bin/socat'],
} as const;

function tool(name: keyof typeof TOOLS): string {
  const found = TOOLS[name].find((p) => existsSync(p));
  if (!found) throw new EnvironmentError(`the lab's pod network needs ${name}, which is not installed`, 'run npm run setup as root (it installs iptables, iproute2 and socat from Debian)');
  return found;
}

async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  try {
    const child = run(cmd, args, { timeout: 10_000, encoding: 'utf8' });
    if (input !== undefined) { child.child.stdin!.end(input); }
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new EnvironmentError(`the lab's pod network: ${[cmd.split('/').pop(), ...args].join(' ')} failed: ${(e.stderr || e.message).trim().split('\n')[0]}`, 'run the lab as root on Linux (network namespaces, veth, iptables)');
  }
}

/** IPv4 networks routed on this machine (/proc/net/route): [network, mask] as unsigned integers. */
function routedNetworks(): [number, number][] {
  let text = '';
  try { text = readFileSync('/proc/net/route', 'utf8'); } catch { return []; }
  const le = (hex: string) => Buffer.from(hex, 'hex').readUInt32LE(0);
  return text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 8 && f[1] !== '00000000')
    .map((f) => [le(f[1]!), le(f[7]!)] as [number, number]);
}

/** `10.244.8.0/21` -> [network, mask] as unsigned integers. */
function parseCidr(cidr: string): [number, number] {
  const [ip, bits] = cidr.split('/');
  const net = ip!.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
  return [net, bits === '0' ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0];
}

const overlap = ([n1, m1]: [number, number], [n2, m2]: [number, number]): boolean => {
  const both = (m1 & m2) >>> 0;
  return ((n1 & both) >>> 0) === ((n2 & both) >>> 0);
};

/**
 * A pod range for `pods` pods (`pick`: kube-control-plane's podCidrFor) that no other lab on this machine has and no route
 * covers, reserved in the registry (`range-*.json`, with its owner) until `release`: labs started
 * side by side (test files in parallel) pick under one lock, so two never share a range (the bridge
 * that routes it comes seconds later). A reservation whose owner is gone does not count.
 */
export async function reservePodCidr(pods: number, pick: (pods: number) => string): Promise<{ cidr: string; release(): void }> {
  const registry = podNetworkRegistry();
  mkdirSync(registry, { recursive: true });
  const lock = join(registry, '.lock');
  for (let i = 0; ; i += 1) {
    try { mkdirSync(lock); break; } catch {
      // A lock older than 10 s was left by a process killed while holding it.
      try { if (Date.now() - statSync(lock).mtimeMs > 10_000) rmSync(lock, { recursive: true, force: true }); } catch { /* gone */ }
      if (i > 200) throw new EnvironmentError(`the lab could not lock its pod range registry ${registry} in 10 s`, `remove ${lock} if no lab is starting`);
      // Waiting for the lock, not blocking the event loop (a test process runs other labs meanwhile).
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    const taken: [number, number][] = [...routedNetworks()];
    for (const f of readdirSync(registry).filter((n) => /^range-.*\.json$/.test(n))) {
      try {
        const r = JSON.parse(readFileSync(join(registry, f), 'utf8')) as { cidr: string; owner: { pid: number; start: string | null } };
        if (ownerIsGone(r.owner)) { rmSync(join(registry, f), { force: true }); continue; }
        taken.push(parseCidr(r.cidr));
      } catch { /* unreadable: not a reservation */ }
    }
    let cidr = pick(pods);
    for (let i = 0; i < 32 && taken.some((t) => overlap(t, parseCidr(cidr))); i += 1) cidr = pick(pods);
    if (taken.some((t) => overlap(t, parseCidr(cidr)))) throw new EnvironmentError(`the lab found no free pod range for ${pods} pods in 32 tries (10.244.0.0/16 is taken by other labs or routes)`, 'stop other labs');
    const file = join(registry, `range-${cidr.replace(/[./]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ cidr, owner: currentOwner() }));
    return { cidr, release: () => rmSync(file, { force: true }) };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** A connection through a relay process (argv: stdin/stdout <-> a TCP connection, as `PodNetwork.relay` makes one). */
export function relayConnection(argv: readonly string[]): Duplex {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
  const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
  stream.once('close', () => child.kill('SIGKILL'));
  child.once('exit', () => stream.destroy());
  return stream;
}

/** `10.244.3.0/24` -> the bridge's address (the range's last host) and the prefix length. */
function bridgeAddress(cidr: string): { ip: string; prefix: number } {
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cidr)) throw new EnvironmentError(`the lab's pod range ${cidr} is not an IPv4 CIDR`);
  const [net, mask] = parseCidr(cidr);
  const last = ((net | ~mask) >>> 0) - 1;
  return { ip: [24, 16, 8, 0].map((b) => (last >>> b) & 255).join('.'), prefix: Number(cidr.split('/')[1]) };
}

interface Recorded { owner: { pid: number; start: string | null }; bridge: string; netns: string[] }

/** Where pod networks are recorded (tmpfs: a reboot takes the record with what it names). */
export function podNetworkRegistry(): string {
  return process.env.MESH_VERIFY_POD_NETWORKS ?? '/run/mesh-verify/pod-networks';
}

export class PodNetwork {
  private readonly sandboxes = new Map<string, PodSandbox & { veth: string }>();
  private next = 0;
  private stopped = false;

  private constructor(readonly bridge: string, readonly gateway: string, private readonly prefix: number, private readonly tag: string) {}

  /** The lab's bridge for pod range `cidr` (its address: the range's last host), recorded in the registry. */
  static async create(cidr: string): Promise<PodNetwork> {
    const ip = tool('ip');
    const tag = randomBytes(4).toString('hex').slice(0, 6);
    const { ip: gateway, prefix } = bridgeAddress(cidr);
    const net = new PodNetwork(`mvb-${tag}`, gateway, prefix, tag);
    net.record();
    try {
      await sh(ip, ['link', 'add', net.bridge, 'type', 'bridge']);
      await sh(ip, ['addr', 'add', `${gateway}/${prefix}`, 'dev', net.bridge]);
      await sh(ip, ['link', 'set', net.bridge, 'up']);
    } catch (err) {
      await net.stop();
      throw err;
    }
    return net;
  }

  private record(): void {
    const r: Recorded = { owner: currentOwner(), bridge: this.bridge, netns: [...this.sandboxes.values()].map((s) => s.netns) };
    mkdirSync(podNetworkRegistry(), { recursive: true });
    writeFileSync(join(podNetworkRegistry(), `${this.tag}.json`), JSON.stringify(r));
  }

  /** A new pod sandbox with `ip` on its eth0 (and Istio's interception when `interception` is given). */
  async addPod(pod: string, podIp: string, interception?: IstioIptables): Promise<PodSandbox> {
    if (this.stopped) throw new EnvironmentError('the lab\'s pod network is stopped');
    const ip = tool('ip');
    const i = this.next++;
    const netns = `mv-${this.tag}-${i}`;
    const veth = `mvh${this.tag}${i}`;
    const peer = `mvp${this.tag}${i}`;
    const sandbox = { pod, ip: podIp, netns, path: `/run/netns/${netns}`, veth };
    await sh(ip, ['netns', 'add', netns]);
    this.sandboxes.set(pod, sandbox);
    this.record();
    await sh(ip, ['link', 'add', veth, 'type', 'veth', 'peer', 'name', peer]);
    await sh(ip, ['link', 'set', peer, 'netns', netns]);
    await sh(ip, ['link', 'set', veth, 'master', this.bridge, 'up']);
    await sh(ip, ['-n', netns, 'link', 'set', peer, 'name', 'eth0']);
    await sh(ip, ['-n', netns, 'addr', 'add', `${podIp}/${this.prefix}`, 'dev', 'eth0']);
    await sh(ip, ['-n', netns, 'link', 'set', 'eth0', 'up']);
    await sh(ip, ['-n', netns, 'link', 'set', 'lo', 'up']);
    await sh(ip, ['-n', netns, 'route', 'add', 'default', 'via', this.gateway]);
    // A reused IP (kwok hands a freed one out again): forget the old pod's MAC everywhere, as the
    // CNI bridge plugin's gratuitous ARP makes its neighbours do.
    await Promise.all([sh(ip, ['neigh', 'flush', 'to', podIp]), ...[...this.sandboxes.values()].filter((o) => o.netns !== netns).map((o) => sh(ip, ['-n', o.netns, 'neigh', 'flush', 'to', podIp]))]);
    if (interception) await sh(tool('nsenter'), [`--net=${sandbox.path}`, '--', tool('iptables-restore'), '--noflush'], istioIptablesRules(interception));
    return sandbox;
  }

  /** argv that runs `argv` inside the sandbox's network namespace. */
  enter(sandbox: PodSandbox, argv: readonly string[]): string[] {
    return [tool('nsenter'), `--net=${sandbox.path}`, '--', ...argv];
  }

  /**
   * The argv of a relay between stdin/stdout and host:port inside the sandbox (its 127.0.0.1
   * too), as a kubelet's port-forward made one (nsenter + socat): kwok's PortForward runs it.
   */
  relay(sandbox: PodSandbox, host: string, port: number): string[] {
    return this.enter(sandbox, [tool('socat'), '-', `TCP:${host}:${port}`]);
  }

  /** A TCP connection to host:port from inside the sandbox, through `relay`. */
  connect(sandbox: PodSandbox, host: string, port: number): Duplex {
    return relayConnection(this.relay(sandbox, host, port));
  }

  /** Delete a pod's sandbox (its veth pair goes with its namespace). */
  async removePod(pod: string): Promise<void> {
    const s = this.sandboxes.get(pod);
    if (!s) return;
    this.sandboxes.delete(pod);
    deleteNetns(s.netns);
    this.record();
  }

  /** Delete every sandbox and the bridge. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const pod of [...this.sandboxes.keys()]) await this.removePod(pod);
    deleteLink(this.bridge);
    rmSync(join(podNetworkRegistry(), `${this.tag}.json`), { force: true });
  }
}

/** Delete a network namespace (its veth goes with it) or a link, if it is there; throws when it stays. */
function deleteNetns(name: string): void {
  deleteIfThere(`/run/netns/${name}`, ['netns', 'delete', name]);
}

function deleteLink(name: string): void {
  deleteIfThere(`/sys/class/net/${name}`, ['link', 'delete', name]);
}

function deleteIfThere(path: string, args: string[]): void {
  if (!existsSync(path)) return;
  try { execFileSync(tool('ip'), args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 }); } catch (err) {
    if (existsSync(path)) throw new EnvironmentError(`the lab's pod network: ip ${args.join(' ')} failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().split('\n')[0]}`, 'run the lab as root on Linux (network namespaces, veth, iptables)');
  }
}

/**
 * Remove the pod networks whose owner is gone (a lab killed outright): their namespaces (their
 * veths go with them) and bridges, only names of the network's own shape. startKubeLab calls it
 * once per lab start. Returns what it removed.
 */
export function sweepOrphanedPodNetworks(): string[] {
  const registry = podNetworkRegistry();
  let files: string[];
  try { files = readdirSync(registry).filter((f) => /^[0-9a-f]{6}\.json$/.test(f)); } catch { return []; }
  const valid = (n: unknown): n is string => typeof n === 'string' && /^mv[a-z]?-[0-9a-f]{6}(-\d+)?$/.test(n);
  const removed: string[] = [];
  for (const f of files) {
    let r: Partial<Recorded>;
    try { r = JSON.parse(readFileSync(join(registry, f), 'utf8')) as Partial<Recorded>; } catch { continue; }
    if (!r.owner || !ownerIsGone(r.owner)) continue;
    try {
      for (const ns of (r.netns ?? []).filter(valid)) { deleteNetns(ns); removed.push(ns); }
      if (valid(r.bridge)) { deleteLink(r.bridge); removed.push(r.bridge); }
    } catch { continue; /* kept: a later sweep tries again */ }
    rmSync(join(registry, f), { force: true });
  }
  return removed;
}
