import type { IstioLabels } from './stats-store.js';

/** A workload as Istio's stats filter names it (from peer metadata or the local node). */
export interface MetricWorkload {
  name: string;
  namespace: string;
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
}

export interface RequestMetricInput {
  reporter: 'source' | 'destination';
  source: MetricWorkload | null;
  destination: MetricWorkload | null;
  sourcePrincipal: string | null;
  destinationPrincipal: string | null;
  /** Service host (`bff.mesh-verify.svc.cluster.local`). */
  destinationService: string;
  destinationServiceName: string;
  destinationServiceNamespace: string;
  responseCode: number;
  responseFlags: string[];
  /** Only the destination reporter knows: mutual_tls or none. The source reporter says unknown. */
  mtls: boolean;
}

const U = 'unknown';

/** istio_requests_total labels in the order Istio's stats filter emits them. */
export function requestMetricLabels(m: RequestMetricInput): IstioLabels {
  const s = m.source;
  const d = m.destination;
  return {
    reporter: m.reporter,
    source_workload: s?.name ?? U,
    source_canonical_service: s?.canonicalService ?? U,
    source_canonical_revision: s?.canonicalRevision ?? 'latest',
    source_workload_namespace: s?.namespace ?? U,
    source_principal: m.sourcePrincipal ?? U,
    source_app: s?.app ?? U,
    source_version: s?.version ?? U,
    source_cluster: s ? 'Kubernetes' : U,
    destination_workload: d?.name ?? U,
    destination_workload_namespace: d?.namespace ?? U,
    destination_principal: m.destinationPrincipal ?? U,
    destination_app: d?.app ?? U,
    destination_version: d?.version ?? U,
    destination_service: m.destinationService,
    destination_canonical_service: d?.canonicalService ?? U,
    destination_canonical_revision: d?.canonicalRevision ?? 'latest',
    destination_service_name: m.destinationServiceName,
    destination_service_namespace: m.destinationServiceNamespace,
    destination_cluster: d ? 'Kubernetes' : U,
    request_protocol: 'http',
    response_code: String(m.responseCode),
    grpc_response_status: '',
    response_flags: m.responseFlags.length ? m.responseFlags.join(',') : '-',
    connection_security_policy: m.reporter === 'source' ? U : m.mtls ? 'mutual_tls' : 'none',
  };
}
