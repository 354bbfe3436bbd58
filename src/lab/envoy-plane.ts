import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { canBind } from './can-bind.js';
import { join } from 'node:path';
import { EnvironmentError } from '../core/errors.js';
import {
  APP_PORT, BFF_WORKLOAD, ENVOY_ADMIN_PORT, GATEWAY_CREDENTIAL, GATEWAY_HTTPS_TARGET_PORT, GATEWAY_WORKLOAD, ISTIO_INBOUND_PORT,
  ISTIO_OUTBOUND_PORT, MESH_NAMESPACE, PUBLIC_HOST, SVC_WORKLOAD, serviceFqdn,
} from '../topology/reference.js';
import { pinnedVersions } from '../topology/versions.js';
import { findEnvoy } from './envoy/binary.js';
import { spawnOwned, startEnvoy, supervise, type EnvoyProcess } from './envoy/process.js';
import { XdsDirectory } from './envoy/xds-files.js';
import { bootstrap, clusters, endpoints, listeners, rootSecret, routes, tlsSecret, type LabAddresses, type LabRole, type ProxyShapeInput } from './istio-shape/resources.js';
import { createLabPki, issueWorkloadIdentity, type GivenGatewayCredential, type LabPki, type WorkloadIdentity } from './lab-pki.js';
import { CALLER_WORKLOAD, POD_NAMES, placementFor, workloadLabels } from './placements.js';
import { labTempDir } from './lab-dirs.js';
import { allSettledOrThrow } from '../util/all-settled.js';
import { PlaintextCaller } from './plaintext-caller.js';
import { PodNetwork, parseIstioIptablesArgs, type PodSandbox } from './pod-network.js';
import type { ContainerLaunch } from './pod-runtime.js';
import type { LabFault, LabPod, LabPodNetwork, MeshState } from './types.js';

/**
 * The lab's data plane: REAL Envoy processes (the pinned release) as the NLB, the ingress gateway
 * and the bff and svc sidecars, the real reference app (fixtures/topology/app/app.mjs) as bff and
 * svc, and real TLS with certificates from the lab's mesh CA. Each pod's containers run in the
 * pod's own network namespace with the pod's IP (kwok's), and, where the pod has istio-init,
 * Istio's iptables rules from its args (src/lab/pod-network.ts); the NLB is a loopback address of
 * the node. The configuration is Istio-shaped (istio-shape/, delivered as watched xDS files) and
 * every change is a new resource version.
 */
export interface DataPlane {
  state: MeshState;
  nlb: { host: string; port: number };
  publicHost: string;
  externalCaPem: string;
  meshRootPem: string;
  /** What the lab ran: the Envoy binary and its version. */
  envoy: { path: string; version: string };
  addresses: LabAddresses;
  podNetwork(): LabPodNetwork | null;
  pods(): LabPod[];
  reconfigure(state: MeshState): Promise<void>;
  /** Serve another gateway credential (an SDS push); resolves when the gateway reports it. */
  setGatewayCredential(credential: { chainPem: string; keyPem: string; caPem?: string | null }): Promise<void>;
  /** A pod was re-created (a rollout): its name, and its containers move when its IP is another. */
  renamePod(role: keyof PodNames, pod: PodInfo): Promise<void>;
  stop(): Promise<void>;
}

export interface DataPlaneOptions {
  state: MeshState;
  fault?: LabFault | null;
  log?: (line: string) => void;
  gatewayCredential?: GivenGatewayCredential;
  /** Envoy binary (default: findEnvoy()). */
  envoyPath?: string;
  /** The pods as Kubernetes made them: name (each proxy's node id, each app's POD_NAME), kwok's IP, istio-init's args. */
  pods: Partial<Record<keyof PodNames, PodInfo>>;
  /** svc's ClusterIP, as the API assigned it. */
  svcClusterIp: string;
  /** The node's pod range (kwok's), which the pods' bridge serves. */
  podCidr: string;
  /** The app container of a pod as the kubelet would start it (src/lab/app-launcher.ts). */
  appLaunch: AppLaunch;
  /** The lab's PKI, when the caller made it first (its mesh root goes into ConfigMaps before the pods start). */
  pki?: LabPki;
}

export type PodNames = Record<keyof typeof POD_NAMES, string>;

/** A pod of the API as its sandbox needs it: its name, kwok's IP, and istio-init's args (null: no sidecar injected). */
export interface PodInfo { name: string; ip: string; istioInit: string[] | null }

/** The app container of role's pod `podName`, set up under `dir` (src/lab/pod-runtime.ts). */
export type AppLaunch = (role: 'bff' | 'svc', podName: string, dir: string) => Promise<ContainerLaunch>;

/** The lab's programs for the images its pods name: the node image's `node` is this Node. */
export const LAB_PROGRAMS: Record<string, string> = { node: process.execPath };

export const NLB_PORT = 8443;

/** istio-proxy's group (the injected container's runAsGroup), which Istio's rules exempt from capture. */
const PROXY_GID = 1337;

/** A free loopback address 127.A.B.1 for the NLB (its listener and admin ports), random, checked by binding them. */
export async function pickNlbAddress(): Promise<string> {
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const ip = `127.${100 + Math.floor(Math.random() * 150)}.${1 + Math.floor(Math.random() * 250)}.1`;
    if ((await Promise.all([NLB_PORT, ENVOY_ADMIN_PORT].map((p) => canBind(ip, p)))).every(Boolean)) return ip;
  }
  throw new EnvironmentError('the lab found no free loopback address for its NLB in 8 tries', 'stop other labs or processes bound to 0.0.0.0 on ports 8443 or 15000');
}

/** A child process with its stdout kept as log lines (what `kubectl logs` would show). */
interface AppProcess { lines: string[]; stop(): Promise<void> }

/**
 * Start an app container as the kubelet would (`launch`: src/lab/pod-runtime.ts, from the pod's
 * spec and the API's ConfigMaps), in its pod's network namespace (`enter`). The lab has no
 * cluster DNS: an upstream URL on a Service is pointed at that Service's ClusterIP (which
 * Istio's rules redirect into the pod's sidecar), its Host header kept.
 */
function startApp(role: 'bff' | 'svc', launch: ContainerLaunch, network: { enter(argv: string[]): string[]; services: Record<string, string> }, log?: (line: string) => void, onLine?: (line: string) => void): Promise<AppProcess> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...launch.env };
  if (env.UPSTREAM_URL) {
    const url = new URL(env.UPSTREAM_URL);
    const vip = network.services[url.hostname];
    if (vip) {
      env.UPSTREAM_HOST ??= url.host;
      url.hostname = vip;
      env.UPSTREAM_URL = url.toString().replace(/\/$/, '');
    }
  }
  const [command, ...args] = network.enter(launch.argv);
  const child = spawnOwned(command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (lines.length < 100_000) lines.push(line);
      log?.(`[${launch.env.POD_NAME ?? role} ${role}] ${line}`);
      onLine?.(line);
    }
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err = (err + c.toString('utf8')).slice(-2000); });
  const { exited, stop: stopChild } = supervise(child);
  const stop = () => stopChild(1500);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void stop(); reject(new EnvironmentError(`the ${role} app did not start within 10 s: ${err.trim()}`)); }, 10_000);
    child.stdout!.once('data', () => { clearTimeout(timer); resolve({ lines, stop }); });
    void exited.then(() => { clearTimeout(timer); reject(new EnvironmentError(`the ${role} app exited while starting: ${err.trim().slice(0, 400)}`)); });
  });
}

interface Proxy {
  role: LabRole;
  xds: XdsDirectory;
  dir: string;
  envoy: EnvoyProcess;
  identity: WorkloadIdentity;
  accessLogPath: string;
}

const WORKLOADS = { gateway: GATEWAY_WORKLOAD, bff: BFF_WORKLOAD, svc: SVC_WORKLOAD } as const;

class EnvoyDataPlane implements DataPlane {
  readonly publicHost = PUBLIC_HOST;
  nlb: { host: string; port: number };
  private readonly proxies = new Map<LabRole, Proxy>();
  private nlbProxy: EnvoyProcess | null = null;
  private apps: Partial<Record<'bff' | 'svc', AppProcess>> = {};
  private readonly caller: PlaintextCaller;
  private callerTimer: NodeJS.Timeout | null = null;
  private callerCalls = 0;
  private readonly root: string;
  private stopped = false;
  private net: PodNetwork | null = null;
  /** Each role's pod sandbox (network namespace), made when its first container starts; `made` once it is (pods() is synchronous). */
  private readonly sandboxes = new Map<keyof PodNames, { ready: Promise<PodSandbox>; made?: PodSandbox }>();

  constructor(
    public state: MeshState,
    private readonly pki: LabPki,
    private readonly nlbAddress: string,
    private readonly network: { podCidr: string; svcClusterIp: string },
    readonly envoy: { path: string; version: string },
    private readonly log: ((line: string) => void) | undefined,
    private readonly info: Partial<Record<keyof PodNames, PodInfo>>,
    private readonly appLaunch: AppLaunch,
  ) {
    this.root = labTempDir('mesh-verify-lab-envoy-');
    this.nlb = { host: nlbAddress, port: NLB_PORT };
    // The legacy workload's connections leave from its own pod (a relay in its sandbox).
    this.caller = new PlaintextCaller(async () => {
      const sandbox = await this.sandbox('caller');
      return { host: this.addresses.svc, port: APP_PORT, createConnection: () => this.net!.connect(sandbox, this.addresses.svc, APP_PORT) };
    }, this.podName('caller'));
  }

  get addresses(): LabAddresses {
    const ip = (role: keyof PodNames) => this.info[role]?.ip ?? '';
    return { nlb: this.nlbAddress, gateway: ip('gateway'), bff: ip('bff'), svc: ip('svc'), caller: ip('caller'), svcVip: this.network.svcClusterIp };
  }

  podNetwork(): LabPodNetwork | null {
    if (!this.net) return null;
    const netns: LabPodNetwork['netns'] = {};
    for (const role of ['gateway', 'bff', 'svc'] as const) { const s = this.sandboxes.get(role)?.made; if (s) netns[role] = s.path; }
    return { bridge: this.net.bridge, netns };
  }

  private podName(role: keyof PodNames): string { return this.info[role]?.name ?? POD_NAMES[role]; }

  /** role's pod sandbox: its network namespace with its IP, and Istio's rules when its pod has istio-init. */
  private sandbox(role: keyof PodNames): Promise<PodSandbox> {
    const known = this.sandboxes.get(role);
    if (known) return known.ready;
    const pod = this.info[role];
    if (!pod?.ip) return Promise.reject(new EnvironmentError(`the lab's runtime has no IP for the ${role} pod (kwok gives one when the pod is Running)`));
    const ns = role === 'gateway' ? GATEWAY_WORKLOAD.namespace : MESH_NAMESPACE;
    const entry: { ready: Promise<PodSandbox>; made?: PodSandbox } = {
      ready: this.net!.addPod(`${ns}/${pod.name}`, pod.ip, pod.istioInit ? parseIstioIptablesArgs(pod.istioInit) : undefined),
    };
    this.sandboxes.set(role, entry);
    void entry.ready.then((made) => { entry.made = made; }, () => undefined);
    return entry.ready;
  }

  private async removeSandbox(role: keyof PodNames): Promise<void> {
    const s = this.sandboxes.get(role);
    if (!s) return;
    this.sandboxes.delete(role);
    const sandbox = await s.ready.catch(() => null);
    if (sandbox) await this.net!.removePod(sandbox.pod);
  }

  get externalCaPem(): string { return this.pki.externalCaPem; }
  get meshRootPem(): string { return this.pki.meshRoot.certPem; }

  private shapeInput(role: LabRole, xds: XdsDirectory, accessLogPath: string): ProxyShapeInput {
    const p = placementFor(role);
    return {
      role, workload: WORKLOADS[role], podName: this.podName(role), labels: p.labels, state: this.state,
      addresses: this.addresses, accessLogPath, files: xds.files, istioVersion: pinnedVersions().istio,
    };
  }

  /** Write (or rewrite) every resource of one proxy; Envoy picks up the changed files. */
  private pushConfig(p: Proxy): void {
    const input = this.shapeInput(p.role, p.xds, p.accessLogPath);
    // Secrets and endpoints first, so that a new cluster or listener finds them.
    p.xds.put('sds', p.xds.files.sds('default'), [tlsSecret('default', p.identity.chainPem, p.identity.keyPem)]);
    p.xds.put('sds', p.xds.files.sds('ROOTCA'), [rootSecret(p.identity.rootPem)]);
    if (p.role === 'gateway') {
      const name = `kubernetes://${GATEWAY_CREDENTIAL}`;
      p.xds.put('sds', p.xds.files.sds(name), [tlsSecret(name, this.pki.gatewayCredential.chainPem, this.pki.gatewayCredential.keyPem)]);
    }
    for (const [name, cla] of Object.entries(endpoints(input))) p.xds.put('eds', p.xds.files.eds(name), [cla]);
    for (const [name, rc] of Object.entries(routes(input))) p.xds.put('rds', p.xds.files.rds(name), [rc]);
    p.xds.put('cds', p.xds.files.cds, clusters(input));
    p.xds.put('lds', p.xds.files.lds, listeners(input));
  }

  private async startProxy(role: LabRole): Promise<void> {
    const dir = join(this.root, role);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const xds = new XdsDirectory(join(dir, 'xds'));
    const accessLogPath = join(dir, 'access.log');
    writeFileSync(accessLogPath, '');
    const identity = await issueWorkloadIdentity(this.pki, WORKLOADS[role], role === 'svc' ? this.state.svcCert : 'valid');
    const partial = { role, xds, dir, identity, accessLogPath } as Proxy;
    this.pushConfig(partial);
    writeFileSync(join(dir, 'bootstrap.json'), JSON.stringify(bootstrap(this.shapeInput(role, xds, accessLogPath)), null, 1));
    const sandbox = await this.sandbox(role);
    const net = this.net!;
    // As istio-proxy: in the pod's namespace, group 1337 (runAsGroup; Istio's rules let its traffic out), admin on the pod's 127.0.0.1.
    partial.envoy = await startEnvoy({
      name: this.podName(role), binary: this.envoy.path, dir, adminHost: '127.0.0.1', adminPort: ENVOY_ADMIN_PORT, log: this.log,
      sandbox: { enter: (argv) => net.enter(sandbox, argv), connect: (h, port) => net.connect(sandbox, h, port), gid: PROXY_GID },
    });
    this.proxies.set(role, partial);
    await this.converged(partial);
  }

  /** The NLB: an L4 Envoy (tcp_proxy), or, for nlb-terminates-tls, one that terminates and re-originates TLS. */
  private async startNlb(): Promise<void> {
    const dir = join(this.root, 'nlb');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const T = 'type.googleapis.com/envoy.extensions.';
    const terminate = this.state.nlbTerminatesTls;
    const nlbCert = this.pki.nlbCertificate;
    writeFileSync(join(dir, 'bootstrap.json'), JSON.stringify({
      node: { id: 'lab-nlb', cluster: 'lab-nlb' },
      admin: { address: { socket_address: { address: this.addresses.nlb, port_value: ENVOY_ADMIN_PORT } } },
      static_resources: {
        listeners: [{
          name: 'nlb', address: { socket_address: { address: this.addresses.nlb, port_value: NLB_PORT } },
          filter_chains: [{
            ...(terminate ? { transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': `${T}transport_sockets.tls.v3.DownstreamTlsContext`, common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: nlbCert.chainPem }, private_key: { inline_string: nlbCert.keyPem } }] } } } } : {}),
            filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'nlb', cluster: 'gateway' } }],
          }],
        }],
        clusters: [{
          name: 'gateway', type: 'STATIC', connect_timeout: '2s',
          load_assignment: { cluster_name: 'gateway', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: this.addresses.gateway, port_value: GATEWAY_HTTPS_TARGET_PORT } } } }] }] },
          ...(terminate ? { transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': `${T}transport_sockets.tls.v3.UpstreamTlsContext`, sni: PUBLIC_HOST, common_tls_context: { validation_context: { trusted_ca: { inline_string: this.pki.externalCaPem } } } } } } : {}),
        }],
      },
    }, null, 1));
    this.nlbProxy = await startEnvoy({ name: 'nlb', binary: this.envoy.path, dir, adminHost: this.addresses.nlb, adminPort: ENVOY_ADMIN_PORT, log: this.log });
  }

  /** Start role's app container from its pod (the kubelet's part: pod-runtime.ts). */
  private async startAppOf(role: 'bff' | 'svc', onLine?: (line: string) => void): Promise<AppProcess> {
    const [launch, sandbox] = await Promise.all([this.appLaunch(role, this.podName(role), join(this.root, `${role}-pod`)), this.sandbox(role)]);
    const services = { [serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace)]: this.addresses.svcVip };
    return startApp(role, launch, { enter: (argv) => this.net!.enter(sandbox, argv), services }, this.log, onLine);
  }

  private async startSvc(): Promise<void> {
    await allSettledOrThrow([
      this.startAppOf('svc', (line) => this.onSvcRequest(line)).then((a) => { this.apps.svc = a; }),
      this.state.svcSidecar ? this.startProxy('svc') : Promise.resolve(),
    ]);
  }

  async start(): Promise<void> {
    this.net = await PodNetwork.create(this.network.podCidr);
    // Everything starts in parallel: the Envoys do not need each other to become LIVE.
    await allSettledOrThrow([
      this.startAppOf('bff').then((a) => { this.apps.bff = a; }),
      this.startSvc(),
      this.startProxy('gateway'),
      this.startProxy('bff'),
      this.startNlb(),
    ]);
    this.syncCaller();
  }

  /**
   * permissive-svc's legacy workload calls svc in plaintext once per request svc's app serves
   * (so during every probe run, before its requests complete), besides polling it.
   */
  private onSvcRequest(line: string): void {
    if (!this.state.plaintextCallerToSvc || this.stopped || !line.startsWith('{') || line.includes('from-plaintext-caller')) return;
    if (this.callerCalls++ < 20_000) void this.caller.call();
  }

  /** The plaintext caller of permissive-svc: a legacy workload polling svc (4/s, at most 10 min). */
  private syncCaller(): void {
    if (this.state.plaintextCallerToSvc && !this.callerTimer) {
      this.callerTimer = setInterval(() => {
        this.callerCalls += 1;
        if (this.callerCalls > 2400) { this.stopCaller(); return; }
        void this.caller.call();
      }, 250);
      this.callerTimer.unref();
      void this.caller.call();
    } else if (!this.state.plaintextCallerToSvc) this.stopCaller();
  }

  private stopCaller(): void {
    if (this.callerTimer) clearInterval(this.callerTimer);
    this.callerTimer = null;
  }

  pods(): LabPod[] {
    const pods: LabPod[] = [];
    const accessLog = (p: Proxy | undefined): string[] => (p && existsSync(p.accessLogPath) ? readFileSync(p.accessLogPath, 'utf8').split('\n').filter(Boolean) : []);
    for (const role of ['gateway', 'bff', 'svc'] as const) {
      const proxy = this.proxies.get(role);
      const placement = placementFor(role);
      const w = placement.workload;
      const sidecar = role === 'gateway' || proxy !== undefined;
      const app = role === 'gateway' ? undefined : this.apps[role];
      const ports: Record<number, number> = {};
      if (role === 'gateway') ports[GATEWAY_HTTPS_TARGET_PORT] = GATEWAY_HTTPS_TARGET_PORT;
      else ports[APP_PORT] = APP_PORT;
      if (proxy) Object.assign(ports, { [ENVOY_ADMIN_PORT]: ENVOY_ADMIN_PORT, 15090: 15090, [ISTIO_INBOUND_PORT]: ISTIO_INBOUND_PORT, [ISTIO_OUTBOUND_PORT]: ISTIO_OUTBOUND_PORT });
      const sandbox = this.sandboxes.get(role)?.made;
      pods.push({
        namespace: w.namespace,
        name: this.podName(role),
        app: role === 'gateway' ? 'istio-ingressgateway' : w.name,
        serviceAccount: w.serviceAccount,
        ip: this.addresses[role],
        forward: (port) => this.forward(sandbox, port),
        labels: workloadLabels(w, sidecar),
        containers: role === 'gateway' ? ['istio-proxy'] : sidecar ? [w.name, 'istio-proxy'] : [w.name],
        ports,
        logs: (container) => (container === 'istio-proxy' ? accessLog(proxy) : container === w.name && app ? [...app.lines] : []),
      });
    }
    if (this.state.plaintextCallerToSvc) {
      pods.push({
        namespace: CALLER_WORKLOAD.namespace, name: this.podName('caller'), app: CALLER_WORKLOAD.name, serviceAccount: CALLER_WORKLOAD.serviceAccount,
        ip: this.addresses.caller, labels: workloadLabels(CALLER_WORKLOAD, false), containers: ['legacy-client'], ports: {},
        logs: (container) => (container === 'legacy-client' ? [...this.caller.log] : []),
      });
    }
    return pods;
  }

  async setGatewayCredential(credential: { chainPem: string; keyPem: string; caPem?: string | null }): Promise<void> {
    this.pki.gatewayCredential = { chainPem: credential.chainPem, keyPem: credential.keyPem };
    if (credential.caPem) this.pki.externalCaPem = credential.caPem;
    const gw = this.proxies.get('gateway');
    if (gw) {
      this.pushConfig(gw);
      await this.converged(gw);
    }
  }

  /** Wait until a proxy reports every resource version written for it. */
  private converged(p: Proxy): Promise<void> {
    // Endpoint versions are not tracked (xds-files.ts), so the dump without EDS is enough.
    return p.xds.converged(async () => (await p.envoy.admin('/config_dump')).body);
  }

  /** kwok's PortForward command for a port of a sandboxed pod (the sandbox is made by then: the pod's processes run). */
  private forward(sandbox: PodSandbox | undefined, port: number): string[] {
    return sandbox ? this.net!.relay(sandbox, '127.0.0.1', port) : [];
  }

  /**
   * A pod was re-created (a rollout): its processes take its name when they next start; when the
   * new pod has another IP, its containers move into a new sandbox with it now, and every proxy
   * gets the new endpoint.
   */
  async renamePod(role: keyof PodNames, pod: PodInfo): Promise<void> {
    const before = this.info[role];
    this.info[role] = pod;
    if (role === 'caller') this.caller.podName = pod.name;
    if (!before || before.ip === pod.ip || !this.sandboxes.has(role)) return;
    this.log?.(`lab: pod ${pod.name} (${role}) has IP ${pod.ip}: its containers move into its new sandbox`);
    if (role === 'caller') { await this.removeSandbox(role); return; }
    // The new pod runs what it was injected with: svc's sidecar comes with istio-init (the mesh
    // state istiod pushes next says the same; its proxies then see no change of injection).
    if (role === 'svc') this.state = { ...this.state, svcSidecar: pod.istioInit !== null };
    await this.restartRole(role);
    // The NLB's target is the gateway pod's IP (a static cluster, as a cloud LB's target group).
    if (role === 'gateway') { await this.nlbProxy?.stop(); await this.startNlb(); }
    for (const p of this.proxies.values()) this.pushConfig(p);
    await Promise.all([...this.proxies.values()].map((p) => this.converged(p)));
  }

  /** Stop role's processes, drop its sandbox, and start them again (in a new sandbox, from the pod as it is now). */
  private async restartRole(role: LabRole): Promise<void> {
    const app = role === 'gateway' ? undefined : this.apps[role];
    const hadProxy = this.proxies.has(role);
    await Promise.all([app?.stop(), this.proxies.get(role)?.envoy.stop()]);
    this.proxies.delete(role);
    if (role !== 'gateway') delete this.apps[role];
    await this.removeSandbox(role);
    if (role === 'svc') await this.startSvc();
    else if (role === 'bff') await allSettledOrThrow([this.startAppOf('bff').then((a) => { this.apps.bff = a; }), this.startProxy('bff')]);
    else if (hadProxy) await this.startProxy('gateway');
  }

  async reconfigure(next: MeshState): Promise<void> {
    const prev = this.state;
    this.state = { ...next, inbound: { ...next.inbound } };
    if (prev.includeSslStats !== next.includeSslStats || prev.nlbTerminatesTls !== next.nlbTerminatesTls) {
      // Bootstrap settings (the stats matcher, the NLB's TLS): a rollout, as in a cluster.
      this.log?.('lab: bootstrap settings changed: restarting the proxies');
      await Promise.all([...this.proxies.values()].map((p) => p.envoy.stop()));
      const roles = [...this.proxies.keys()];
      this.proxies.clear();
      await this.nlbProxy?.stop();
      await Promise.all([...roles.map((r) => this.startProxy(r)), this.startNlb()]);
    }
    if (prev.svcSidecar !== next.svcSidecar) {
      // Injection changed: svc's pod is re-created (with or without its istio-proxy and istio-init).
      await this.restartRole('svc');
    } else if (prev.svcCert !== next.svcCert && this.proxies.has('svc')) {
      // A rotated SDS secret.
      const svc = this.proxies.get('svc')!;
      svc.identity = await issueWorkloadIdentity(this.pki, SVC_WORKLOAD, next.svcCert);
    }
    for (const p of this.proxies.values()) this.pushConfig(p);
    this.syncCaller();
    // Envoy applies a watched file asynchronously: done when each proxy reports the new versions.
    await Promise.all([...this.proxies.values()].map((p) => this.converged(p)));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopCaller();
    await Promise.all([
      ...[...this.proxies.values()].map((p) => p.envoy.stop()),
      this.nlbProxy?.stop(),
      this.apps.bff?.stop(),
      this.apps.svc?.stop(),
    ]);
    await this.net?.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Start the lab's data plane on real Envoy. Exit 4 (EnvironmentError) when Envoy is missing. */
export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const envoyPath = findEnvoy(opts.envoyPath).path;
  const [pki, nlbAddress] = await Promise.all([opts.pki ?? createLabPki(opts.gatewayCredential), pickNlbAddress()]);
  const plane = new EnvoyDataPlane({ ...opts.state, inbound: { ...opts.state.inbound } }, pki, nlbAddress, { podCidr: opts.podCidr, svcClusterIp: opts.svcClusterIp }, { path: envoyPath, version: pinnedEnvoyVersionOf(envoyPath) }, opts.log, { ...opts.pods }, opts.appLaunch);
  try {
    await plane.start();
  } catch (err) {
    await plane.stop();
    throw err;
  }
  return plane;
}

/** The version an Envoy binary reports (`envoy --version`: `.../<version>/<status>/RELEASE/...`). */
function pinnedEnvoyVersionOf(path: string): string {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /\/(\d+\.\d+\.\d+[^/]*)\//.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}
