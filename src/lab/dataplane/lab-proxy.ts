import { serviceFqdn, type Workload } from '../../topology/reference.js';
import { pinnedVersions } from '../../topology/versions.js';
import type { WorkloadIdentity } from './lab-pki.js';
import { StatsStore } from './stats-store.js';

/**
 * The Istio and Envoy versions the lab's proxies report (node metadata, /server_info). The Istio
 * release is the pinned one (fixtures/istio/versions.json), which the lab's istiod runs too: a
 * healthy lab passes its own audit (no version skew).
 */
export const LAB_ISTIO_VERSION = pinnedVersions().istio;
export const LAB_ENVOY_VERSION = '1.30.5';
export const LAB_ENVOY_REVISION = 'fbc0329f0bf8ab3c22108a3552cf567358244494';

export interface ProxyPlacement {
  workload: Workload;
  kind: 'sidecar' | 'router';
  podName: string;
  /** The pod IP the lab's Kubernetes API reports (the sockets themselves are on 127.0.0.1). */
  podIp: string;
  labels: Record<string, string>;
}

/** Things a proxy's admin API reports about a cluster besides its config (for /clusters). */
export interface ClusterRuntime {
  name: string;
  endpoint: () => { address: string; port: number };
  counters: () => Record<string, number>;
}

/**
 * One simulated istio-proxy: identity (SDS `default` + `ROOTCA`), stats counted from its
 * sockets, and its access log. Listeners and clusters that act on sockets live in gateway.ts
 * and sidecar.ts and report into this object.
 */
export class LabProxy {
  readonly stats: StatsStore;
  readonly accessLog: string[] = [];
  readonly startedAt = new Date();
  readonly clusters = new Map<string, ClusterRuntime>();
  identityUpdatedAt = new Date();

  constructor(
    readonly placement: ProxyPlacement,
    public identity: WorkloadIdentity,
    includeSslStats: boolean,
    private readonly onLog: ((line: string) => void) | undefined,
  ) {
    this.stats = new StatsStore(includeSslStats);
    this.stats.setGauge('server.live', 1);
    this.stats.setGauge('server.state', 0);
    this.stats.declare('server.total_connections', 'listener_manager.listener_added', 'cluster_manager.cluster_added');
    // The lab has no istiod: the xDS stream is simulated as one established, mTLS connection.
    this.stats.declare('cluster.xds-grpc.upstream_cx_total', 'cluster.xds-grpc.ssl.handshake', 'cluster.xds-grpc.upstream_rq_total');
    this.stats.inc('cluster.xds-grpc.upstream_cx_total');
    this.stats.inc('cluster.xds-grpc.ssl.handshake');
    this.stats.inc('cluster.xds-grpc.upstream_rq_total');
    this.stats.setGauge('cluster.xds-grpc.upstream_cx_active', 1);
  }

  get workload(): Workload {
    return this.placement.workload;
  }

  /** Envoy node id as Istio builds it: `<type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
  get nodeId(): string {
    const { kind, podIp, podName, workload } = this.placement;
    return `${kind}~${podIp}~${podName}.${workload.namespace}~${workload.namespace}.svc.cluster.local`;
  }

  get serviceHost(): string {
    return serviceFqdn(this.placement.workload.name, this.placement.workload.namespace);
  }

  setIdentity(identity: WorkloadIdentity): void {
    this.identity = identity;
    this.identityUpdatedAt = new Date();
  }

  writeAccessLog(line: string): void {
    this.accessLog.push(line);
    if (this.accessLog.length > 10_000) this.accessLog.splice(0, this.accessLog.length - 10_000);
    this.onLog?.(`[${this.placement.podName} istio-proxy] ${line}`);
  }

  /** Seconds until the workload certificate expires (Envoy: server.days_until_first_cert_expiring). */
  daysUntilCertExpiry(now = Date.now()): number {
    return Math.max(0, Math.floor((this.identity.notAfter.getTime() - now) / 86_400_000));
  }
}
