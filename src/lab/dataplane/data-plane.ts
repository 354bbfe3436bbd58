import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { loadApp } from '../../topology/app-source.js';
import { APP_PORT, BFF_WORKLOAD, ENVOY_ADMIN_PORT, GATEWAY_HTTPS_TARGET_PORT, GATEWAY_WORKLOAD, ISTIO_INBOUND_PORT, ISTIO_OUTBOUND_PORT, PUBLIC_HOST, SVC_WORKLOAD, serviceFqdn } from '../../topology/reference.js';
import type { LabFault, LabPod, MeshState } from '../types.js';
import { AdminServer } from './admin-server.js';
import { buildConfigDump } from './config-dump.js';
import { IngressGateway } from './gateway.js';
import { createLabPki, issueWorkloadIdentity, type GivenGatewayCredential, type LabPki } from './lab-pki.js';
import { LabProxy } from './lab-proxy.js';
import { closeLoopback, listenLoopback, trackSocket } from './loopback-server.js';
import { HOPS, type HopName, type MeshContext } from './mesh-context.js';
import { Nlb } from './nlb.js';
import { CALLER_WORKLOAD, POD_IPS, POD_NAMES, metricWorkload, placementFor, workloadLabels } from './placements.js';
import { PlaintextCaller } from './plaintext-caller.js';
import { Sidecar } from './sidecar.js';
import { Tap, type TapRecord } from './tap.js';

export interface DataPlane {
  state: MeshState;
  nlb: { host: string; port: number };
  publicHost: string;
  externalCaPem: string;
  meshRootPem: string;
  pods(): LabPod[];
  reconfigure(state: MeshState): Promise<void>;
  /**
   * Serve another gateway credential from the next handshake on, as Istio's gateway does when the
   * Secret behind `credentialName` changes (SDS push). `caPem`, when known, becomes externalCaPem.
   */
  setGatewayCredential(credential: { chainPem: string; keyPem: string; caPem?: string | null }): void;
  stop(): Promise<void>;
  /** With `tap: true`: the recording relay of each hop (bytes as they crossed the wire). */
  taps?: Record<HopName, TapRecord>;
}

export interface DataPlaneOptions {
  state: MeshState;
  fault?: LabFault | null;
  log?: (line: string) => void;
  tap?: boolean;
  /** The gateway credential to serve (e.g. the one in the lab's Secret); default: a fresh one. */
  gatewayCredential?: GivenGatewayCredential;
}

type Role = 'gateway' | 'bff' | 'svc';

interface RunningProxy {
  proxy: LabProxy;
  admin: AdminServer;
}

function listenApp(server: Server, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (s: Socket) => trackSocket(sockets, s));
  return listenLoopback(server);
}

class LabDataPlane implements DataPlane, MeshContext {
  nlb = { host: '127.0.0.1', port: 0 };
  readonly publicHost = PUBLIC_HOST;
  taps?: Record<HopName, TapRecord>;
  private readonly tapRelays = new Map<HopName, Tap>();
  private readonly appSockets = new Set<Socket>();
  private readonly appLogs: Record<'bff' | 'svc', string[]> = { bff: [], svc: [] };
  private readonly proxies = new Map<Role, RunningProxy>();
  private bffApp!: Server;
  private svcApp!: Server;
  private bffAppPort = 0;
  private svcAppPort = 0;
  private bffSidecar!: Sidecar;
  private svcSidecar: Sidecar | null = null;
  private gateway!: IngressGateway;
  private nlbServer!: Nlb;
  private readonly caller: PlaintextCaller;
  private stopped = false;

  constructor(public state: MeshState, private readonly pki: LabPki, private readonly log: ((line: string) => void) | undefined, tap: boolean) {
    this.caller = new PlaintextCaller(() => this.hopPort('plaintext-caller->svc'), POD_NAMES.caller);
    if (tap) {
      for (const hop of HOPS) this.tapRelays.set(hop, new Tap(hop, () => this.directPort(hop)));
      this.taps = Object.fromEntries(this.tapRelays) as unknown as Record<HopName, TapRecord>;
    }
  }

  get externalCaPem(): string {
    return this.pki.externalCaPem;
  }

  get meshRootPem(): string {
    return this.pki.meshRoot.certPem;
  }

  // MeshContext
  current(): MeshState {
    return this.state;
  }

  workloadBySpiffe = (id: string | null): ReturnType<MeshContext['workloadBySpiffe']> => {
    const w = [GATEWAY_WORKLOAD, BFF_WORKLOAD, SVC_WORKLOAD].find((x) => x.spiffeId === id);
    return w ? metricWorkload(w) : null;
  };

  hopPort(hop: HopName): number {
    const tap = this.tapRelays.get(hop);
    return tap ? tap.relay.port : this.directPort(hop);
  }

  private directPort(hop: HopName): number {
    const svcEntry = (): number => (this.svcSidecar ? this.svcSidecar.inbound.port : this.svcAppPort);
    switch (hop) {
      case 'nlb->gateway': return this.gateway.listener.port;
      case 'gateway->bff': return this.bffSidecar.inbound.port;
      case 'bff-sidecar->bff-app': return this.bffAppPort;
      case 'bff-app->bff-sidecar': return this.bffSidecar.outbound!.port;
      case 'bff->svc': return svcEntry();
      case 'svc-sidecar->svc-app': return this.svcAppPort;
      case 'plaintext-caller->svc': return svcEntry();
    }
  }

  private async newProxy(role: Role): Promise<LabProxy> {
    const placement = placementFor(role);
    const condition = role === 'svc' ? this.state.svcCert : 'valid';
    const identity = await issueWorkloadIdentity(this.pki, placement.workload, condition);
    const proxy = new LabProxy(placement, identity, this.state.includeSslStats, this.log);
    const admin = new AdminServer({
      proxy,
      configDump: (includeEds) => buildConfigDump({ proxy, role, state: this.state, podIps: { bff: POD_IPS.bff, svc: POD_IPS.svc }, gatewayCredentialPem: role === 'gateway' ? this.pki.gatewayCredential.chainPem : undefined, includeEds }),
      extraCertChains: () => (role === 'gateway' ? [this.pki.gatewayCredential.chainPem] : []),
    });
    this.proxies.set(role, { proxy, admin });
    return proxy;
  }

  private async startSvcSidecar(): Promise<void> {
    const proxy = await this.newProxy('svc');
    this.svcSidecar = new Sidecar({ proxy, mesh: this, appHop: 'svc-sidecar->svc-app', inboundMode: () => this.state.inbound.svc, outboundToSvc: false });
    await this.svcSidecar.listen();
    await this.proxies.get('svc')!.admin.listen();
  }

  async start(): Promise<void> {
    const { createApp } = await loadApp();
    await Promise.all([...this.tapRelays.values()].map((t) => t.relay.listen()));
    const appLog = (role: 'bff' | 'svc') => (line: string): void => {
      this.appLogs[role].push(line);
      this.log?.(`[${POD_NAMES[role]} ${role}] ${line}`);
    };
    this.svcApp = createApp({ role: 'svc', pod: POD_NAMES.svc, log: appLog('svc') });
    this.svcAppPort = await listenApp(this.svcApp, this.appSockets);
    const [gwProxy, bffProxy] = await Promise.all([this.newProxy('gateway'), this.newProxy('bff')]);
    this.bffSidecar = new Sidecar({ proxy: bffProxy, mesh: this, appHop: 'bff-sidecar->bff-app', inboundMode: () => this.state.inbound.bff, outboundToSvc: true });
    await this.bffSidecar.listen();
    if (this.state.svcSidecar) await this.startSvcSidecar();
    this.bffApp = createApp({
      role: 'bff',
      pod: POD_NAMES.bff,
      upstreamUrl: `http://127.0.0.1:${this.hopPort('bff-app->bff-sidecar')}`,
      upstreamHost: `${serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace)}:${APP_PORT}`,
      log: appLog('bff'),
    });
    this.bffAppPort = await listenApp(this.bffApp, this.appSockets);
    this.gateway = new IngressGateway({
      proxy: gwProxy,
      mesh: this,
      credential: () => ({ certPem: this.pki.gatewayCredential.chainPem, keyPem: this.pki.gatewayCredential.keyPem }),
      duringRequest: () => (this.state.plaintextCallerToSvc ? this.caller.call() : Promise.resolve()),
    });
    await this.gateway.listener.listen();
    this.nlbServer = new Nlb({
      gatewayPort: () => this.hopPort('nlb->gateway'),
      terminate: () => (this.state.nlbTerminatesTls ? { certPem: this.pki.nlbCertificate.chainPem, keyPem: this.pki.nlbCertificate.keyPem, gatewayCaPem: this.pki.externalCaPem } : null),
    });
    this.nlb = { host: '127.0.0.1', port: await this.nlbServer.listen() };
    await Promise.all([this.proxies.get('gateway')!.admin.listen(), this.proxies.get('bff')!.admin.listen()]);
  }

  pods(): LabPod[] {
    const pods: LabPod[] = [];
    const proxyPod = (role: Role, containers: string[], ports: Record<number, number>): void => {
      const running = this.proxies.get(role);
      const placement = placementFor(role);
      const w = placement.workload;
      const sidecar = role === 'gateway' || (role === 'svc' ? this.svcSidecar !== null : true);
      const accessLog = running && sidecar ? running.proxy.accessLog : [];
      const appLog = role === 'gateway' ? [] : this.appLogs[role];
      pods.push({
        namespace: w.namespace,
        name: placement.podName,
        app: role === 'gateway' ? 'istio-ingressgateway' : w.name,
        serviceAccount: w.serviceAccount,
        ip: placement.podIp,
        labels: workloadLabels(w, sidecar),
        containers: sidecar ? [...containers, 'istio-proxy'] : containers,
        ports: sidecar && running ? { ...ports, [ENVOY_ADMIN_PORT]: running.admin.port, 15090: running.admin.port } : ports,
        logs: (container) => (container === 'istio-proxy' ? [...accessLog] : container === w.name && role !== 'gateway' ? [...appLog] : []),
      });
    };
    proxyPod('gateway', [], { [GATEWAY_HTTPS_TARGET_PORT]: this.gateway.listener.port });
    proxyPod('bff', ['bff'], { [APP_PORT]: this.bffAppPort, [ISTIO_INBOUND_PORT]: this.bffSidecar.inbound.port, [ISTIO_OUTBOUND_PORT]: this.bffSidecar.outbound!.port });
    proxyPod('svc', ['svc'], this.svcSidecar ? { [APP_PORT]: this.svcAppPort, [ISTIO_INBOUND_PORT]: this.svcSidecar.inbound.port } : { [APP_PORT]: this.svcAppPort });
    if (this.state.plaintextCallerToSvc) {
      pods.push({
        namespace: CALLER_WORKLOAD.namespace,
        name: POD_NAMES.caller,
        app: CALLER_WORKLOAD.name,
        serviceAccount: CALLER_WORKLOAD.serviceAccount,
        ip: POD_IPS.caller,
        labels: workloadLabels(CALLER_WORKLOAD, false),
        containers: ['legacy-client'],
        ports: {},
        logs: (container) => (container === 'legacy-client' ? [...this.caller.log] : []),
      });
    }
    return pods;
  }

  setGatewayCredential(credential: { chainPem: string; keyPem: string; caPem?: string | null }): void {
    this.pki.gatewayCredential = { chainPem: credential.chainPem, keyPem: credential.keyPem };
    if (credential.caPem) this.pki.externalCaPem = credential.caPem;
  }

  async reconfigure(next: MeshState): Promise<void> {
    const prev = this.state;
    this.state = { ...next, inbound: { ...next.inbound } };
    for (const { proxy } of this.proxies.values()) proxy.stats.setInclusion(next.includeSslStats);
    if (prev.svcSidecar && !next.svcSidecar && this.svcSidecar) {
      const running = this.proxies.get('svc')!;
      this.proxies.delete('svc');
      await Promise.all([this.svcSidecar.close(), running.admin.close()]);
      this.svcSidecar = null;
    } else if (!prev.svcSidecar && next.svcSidecar) {
      await this.startSvcSidecar();
    } else if (prev.svcCert !== next.svcCert && this.proxies.has('svc')) {
      const proxy = this.proxies.get('svc')!.proxy;
      proxy.setIdentity(await issueWorkloadIdentity(this.pki, SVC_WORKLOAD, next.svcCert));
    }
    // Config pushes drain pooled upstream connections; new ones use the new config.
    this.bffSidecar.resetPools();
    this.svcSidecar?.resetPools();
    this.gateway.resetPools();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.caller.close();
    await Promise.all([
      this.nlbServer?.close(),
      this.gateway?.close(),
      this.bffSidecar?.close(),
      this.svcSidecar?.close(),
      ...[...this.proxies.values()].map((p) => p.admin.close()),
      ...[...this.tapRelays.values()].map((t) => t.relay.close()),
      this.bffApp ? closeLoopback(this.bffApp, this.appSockets) : undefined,
      this.svcApp ? closeLoopback(this.svcApp, this.appSockets) : undefined,
    ]);
  }
}

/** Start the lab's data plane: NLB, gateway, sidecars, apps and admin servers on 127.0.0.1. */
export async function startDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const pki = await createLabPki(opts.gatewayCredential);
  const plane = new LabDataPlane({ ...opts.state, inbound: { ...opts.state.inbound } }, pki, opts.log, opts.tap ?? false);
  try {
    await plane.start();
  } catch (err) {
    await plane.stop();
    throw err;
  }
  return plane;
}
