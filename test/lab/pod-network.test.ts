import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { findEnvoy } from '../../src/lab/envoy/binary.js';
import { spawnOwned, startEnvoy, supervise, type EnvoyProcess } from '../../src/lab/envoy/process.js';
import { labTempDir } from '../../src/lab/lab-dirs.js';
import { istioInitArgs } from '../helpers/istio-sidecar.js';
import { podCidrFor } from '../../src/lab/kube-control-plane.js';
import { PodNetwork, istioIptablesRules, parseIstioIptablesArgs, podNetworkRegistry, reservePodCidr, sweepOrphanedPodNetworks, type PodSandbox } from '../../src/lab/pod-network.js';

/**
 * The lab's pod sandboxes on the real kernel: network namespaces, veths into a bridge, and
 * Istio's interception rules loaded by the real iptables, with a REAL Envoy as the sidecar
 * (virtualInbound on 15006 and virtualOutbound on 15001 with original_dst, as Istio configures
 * them). Needs root, iproute2 and iptables (npm run setup installs iptables).
 */

const T = 'type.googleapis.com/envoy.';
const sa = (address: string, port: number) => ({ socket_address: { address, port_value: port } });
const tcp = (cluster: string, stat: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: stat, cluster } });

/** The sidecar's interception listeners and passthrough clusters, in the shape of Istio's (see ../shared/reference's sidecar dump). */
function sidecarBootstrap(podIp: string): Record<string, unknown> {
  return {
    node: { id: `sidecar~${podIp}~b.test~test.svc.cluster.local`, cluster: 'b.test' },
    admin: { address: sa('127.0.0.1', 15000) },
    static_resources: {
      listeners: [
        { name: 'virtualOutbound', address: sa('0.0.0.0', 15001), use_original_dst: true, traffic_direction: 'OUTBOUND', filter_chains: [{ filters: [tcp('PassthroughCluster', 'PassthroughCluster')] }] },
        {
          name: 'virtualInbound', address: sa('0.0.0.0', 15006), traffic_direction: 'INBOUND',
          listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: { '@type': `${T}extensions.filters.listener.original_dst.v3.OriginalDst` } }],
          filter_chains: [{ filters: [tcp('InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv4')] }],
        },
      ],
      clusters: [
        { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '2s' },
        { name: 'InboundPassthroughClusterIpv4', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '2s', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } },
      ],
    },
  };
}

/** An app: on each connection to :8080 it dials `upstream` and answers what it and the upstream saw. */
const APP = `
const net = require('net');
const [host, port] = process.argv[1].split(':');
net.createServer((c) => {
  const u = net.connect(Number(port), host);
  let seen = '';
  u.on('data', (d) => { seen += d; });
  u.on('close', () => c.end(JSON.stringify({ from: c.remoteAddress, upstreamSaw: seen.trim() })));
  u.on('error', (e) => c.end(JSON.stringify({ from: c.remoteAddress, error: e.message })));
}).listen(8080, '0.0.0.0', () => process.stdout.write('up\\n'));
`;
/** A server that keeps each connection open (on 9100) and answers the caller's address on 9000. */
const HOLD = `const net = require('net'); net.createServer(() => {}).listen(9100, '0.0.0.0'); net.createServer((c) => c.end(c.remoteAddress + '\\n')).listen(9000, '0.0.0.0', () => process.stdout.write('up\\n'));`;
/** A server that answers the address it was called from. */
const WHO = `require('net').createServer((c) => c.end(c.remoteAddress + '\\n')).listen(9000, '0.0.0.0', () => process.stdout.write('up\\n'));`;

function readAll(stream: NodeJS.ReadWriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    stream.on('data', (d: Buffer) => { out += d.toString('utf8'); });
    stream.on('end', () => resolve(out));
    stream.on('close', () => resolve(out));
    stream.on('error', reject);
  });
}

function httpGet(connect: () => NodeJS.ReadWriteStream, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: 15000, path, createConnection: connect as never }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString('utf8'); });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

const stat = (stats: string, name: string): number => Number(new RegExp(`^${name.replace(/[.|]/g, '\\$&')}: (\\d+)$`, 'm').exec(stats)?.[1] ?? NaN);

describe('pod sandboxes (network namespaces, veth, bridge, Istio\'s iptables) with a real Envoy sidecar', () => {
  const dir = labTempDir('mesh-verify-podnet-test-');
  let net: PodNetwork;
  let a: PodSandbox;
  let b: PodSandbox;
  let envoy: EnvoyProcess;
  const stops: (() => Promise<void>)[] = [];
  let base = '';
  const releases: (() => void)[] = [];

  const startIn = async (s: PodSandbox, script: string, args: string[]) => {
    const [cmd, ...rest] = net.enter(s, [process.execPath, '-e', script, ...args]);
    const child = spawnOwned(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    const sup = supervise(child);
    stops.push(() => sup.stop(1000));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
  };

  beforeAll(async () => {
    const range = await reservePodCidr(4, podCidrFor);
    releases.push(range.release);
    base = range.cidr.replace(/\.0\/24$/, '');
    net = await PodNetwork.create(range.cidr);
    a = await net.addPod('test/a', `${base}.2`);
    b = await net.addPod('test/b', `${base}.3`, parseIstioIptablesArgs(istioInitArgs()));
    await startIn(a, WHO, []);
    await startIn(b, APP, [`${a.ip}:9000`]);
    const edir = join(dir, 'envoy-b');
    mkdirSync(edir);
    writeFileSync(join(edir, 'bootstrap.json'), JSON.stringify(sidecarBootstrap(b.ip)));
    envoy = await startEnvoy({
      name: 'b', binary: findEnvoy().path, dir: edir, adminHost: '127.0.0.1', adminPort: 15000,
      sandbox: { enter: (argv) => net.enter(b, argv), connect: (h, p) => net.connect(b, h, p), gid: 1337 },
    });
    stops.push(() => envoy.stop());
  }, 60_000);

  afterAll(async () => {
    for (const s of stops.reverse()) await s();
    await net?.stop();
    for (const r of releases) r();
  });

  it('istio-init\'s args give Istio\'s settings, and the real iptables loads the rules into the pod\'s nat table', () => {
    const o = parseIstioIptablesArgs(istioInitArgs());
    expect(o).toEqual({ outboundPort: 15001, inboundPort: 15006, proxyUid: 1337, proxyGid: 1337, excludeInboundPorts: [15090, 15021, 15020] });
    const saved = execFileSync('nsenter', [`--net=${b.path}`, '--', 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
    for (const line of istioIptablesRules(o).split('\n').filter((l) => l.startsWith('-A '))) expect(saved).toContain(line);
    // Pod a has no sidecar: no Istio chains.
    expect(execFileSync('nsenter', [`--net=${a.path}`, '--', 'iptables-save', '-t', 'nat'], { encoding: 'utf8' })).not.toContain('ISTIO');
  });

  it('inbound: a connection to the pod\'s app port is redirected to virtualInbound and reaches the app from 127.0.0.6; outbound: the app\'s own call leaves through virtualOutbound from the pod IP', async () => {
    const before = await httpGet(() => net.connect(b, '127.0.0.1', 15000), '/stats');
    const answer = JSON.parse(await readAll(net.connect(a, b.ip, 8080))) as { from: string; upstreamSaw: string };
    const after = await httpGet(() => net.connect(b, '127.0.0.1', 15000), '/stats');
    expect(answer).toEqual({ from: '127.0.0.6', upstreamSaw: b.ip });
    for (const s of ['listener.0.0.0.0_15006.downstream_cx_total', 'listener.0.0.0.0_15001.downstream_cx_total', 'cluster.PassthroughCluster.upstream_cx_total', 'cluster.InboundPassthroughClusterIpv4.upstream_cx_total']) {
      expect(stat(after, s) - stat(before, s), s).toBe(1);
    }
  });

  it('ports istio-init excludes are not captured, and the lab reaches a pod from the node over the bridge', async () => {
    // 15090 is excluded: nothing listens there, so the connection is refused instead of reaching virtualInbound.
    const stats = await httpGet(() => net.connect(b, '127.0.0.1', 15000), '/stats');
    const inbound = stat(stats, 'listener.0.0.0.0_15006.downstream_cx_total');
    expect(await readAll(net.connect(a, b.ip, 15090)).catch(() => '')).toBe('');
    // (a captured port would have answered: 8080 reaches the app through virtualInbound)
    expect(await readAll(net.connect(a, b.ip, 8080))).toContain('127.0.0.6');
    expect(stat(await httpGet(() => net.connect(b, '127.0.0.1', 15000), '/stats'), 'listener.0.0.0.0_15006.downstream_cx_total')).toBe(inbound + 1);
    // From the node (this process, the root namespace): pod a's server sees the bridge's address.
    const { connect } = await import('node:net');
    const seen = await new Promise<string>((resolve, reject) => {
      const s = connect(9000, a.ip);
      let out = '';
      s.on('data', (d) => { out += d; });
      s.on('end', () => resolve(out.trim()));
      s.on('error', reject);
    });
    expect(seen).toBe(net.gateway);
  });

  it('a pod re-created with a freed IP is reached at once: its neighbours forget the old MAC, so a connection to the old pod is reset', async () => {
    const ip = `${base}.9`;
    const first = await net.addPod('test/c', ip);
    await startIn(first, HOLD, []);
    // A pooled connection from pod a to the first pod (as a sidecar's to an endpoint).
    const pooled = net.connect(a, ip, 9100);
    pooled.on('error', () => {});
    const closed = new Promise<number>((resolve) => pooled.once('close', () => resolve(Date.now())));
    expect(await readAll(net.connect(a, ip, 9000))).toBe(`${a.ip}\n`);
    await net.removePod('test/c');
    const second = await net.addPod('test/d', ip);
    await startIn(second, WHO, []);
    expect(await readAll(net.connect(a, ip, 9000))).toBe(`${a.ip}\n`);
    // The old connection's next segment reaches the new pod, which resets it (with the old MAC it would vanish and be retried for minutes).
    const sent = Date.now();
    pooled.write('after the move\n');
    const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), 5_000))]);
    expect(at - sent).toBeLessThan(5_000);
  });

  it('stop removes every namespace and the bridge and its record; what a lab killed outright recorded is released by the sweep', async () => {
    const otherRange = await reservePodCidr(4, podCidrFor);
    releases.push(otherRange.release);
    const other = otherRange.cidr.replace(/\.0\/24$/, '');
    const leaked = await PodNetwork.create(`${other}.0/24`);
    const s = await leaked.addPod('test/leaked', `${other}.2`);
    const record = join(podNetworkRegistry(), `${leaked.bridge.slice(4)}.json`);
    expect(existsSync(s.path) && existsSync(`/sys/class/net/${leaked.bridge}`) && existsSync(record)).toBe(true);
    // Its owner is alive (this process): the sweep leaves it alone.
    expect(sweepOrphanedPodNetworks()).not.toContain(leaked.bridge);
    expect(existsSync(s.path)).toBe(true);
    // The owner as a process that has ended (a lab killed outright).
    const gone = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const r = JSON.parse(readFileSync(record, 'utf8')) as { owner: { pid: number; start: string } };
    writeFileSync(record, JSON.stringify({ ...r, owner: { pid: Number(gone), start: '1' } }));
    expect(sweepOrphanedPodNetworks()).toEqual(expect.arrayContaining([s.netns, leaked.bridge]));
    expect([existsSync(s.path), existsSync(`/sys/class/net/${leaked.bridge}`), existsSync(record)]).toEqual([false, false, false]);
    // A network stopped by its owner takes its record with it.
    const own = await PodNetwork.create(`${other}.0/24`);
    await own.addPod('test/own', `${other}.3`);
    await own.stop();
    expect(existsSync(join(podNetworkRegistry(), `${own.bridge.slice(4)}.json`))).toBe(false);
  });

  it('reserves pod ranges so that labs side by side never share one: taken ranges are skipped, a gone owner\'s is reused, a release frees it', async () => {
    const registry = mkdtempSync(join(tmpdir(), 'mesh-verify-ranges-'));
    const before = process.env.MESH_VERIFY_POD_NETWORKS;
    process.env.MESH_VERIFY_POD_NETWORKS = registry;
    try {
      const seq = (...c: string[]) => () => c.shift() ?? '10.244.250.0/24';
      const first = await reservePodCidr(4, seq('10.244.7.0/24'));
      // The same range again (and one inside a reserved /21) is skipped for the next free one.
      const wide = await reservePodCidr(1000, seq('10.244.8.0/21'));
      const second = await reservePodCidr(4, seq('10.244.7.0/24', '10.244.9.0/24', '10.244.17.0/24'));
      expect([first.cidr, wide.cidr, second.cidr]).toEqual(['10.244.7.0/24', '10.244.8.0/21', '10.244.17.0/24']);
      first.release();
      expect((await reservePodCidr(4, seq('10.244.7.0/24'))).cidr).toBe('10.244.7.0/24');
      // A reservation whose owner has ended does not count.
      const gone = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      writeFileSync(join(registry, 'range-10-244-30-0-24.json'), JSON.stringify({ cidr: '10.244.30.0/24', owner: { pid: Number(gone), start: '1' } }));
      expect((await reservePodCidr(4, seq('10.244.30.0/24'))).cidr).toBe('10.244.30.0/24');
    } finally {
      if (before === undefined) delete process.env.MESH_VERIFY_POD_NETWORKS; else process.env.MESH_VERIFY_POD_NETWORKS = before;
      rmSync(registry, { recursive: true, force: true });
    }
  });
});
