import type { ClusterEndpoint, ClusterTls } from './types.js';
import type { DumpCluster } from './config-dump.js';
import { asArray, asNumber, asRecord, asString, type JsonRecord } from './json-access.js';
import { readTlsContext, tlsContextOf, type TlsContextFacts } from './tls-context.js';

/** Bootstrap clusters that carry control-plane or telemetry traffic, never application data. */
export const CONTROL_PLANE_CLUSTERS = new Set([
  'xds-grpc', 'sds-grpc', 'zipkin', 'agent', 'prometheus_stats', 'envoy_accesslog_service',
  'envoy_metrics_service', 'lightstep', 'datadog_agent', 'opencensus', 'skywalking', 'stackdriver_grpc_service',
]);

/** Upstream TLS of every cluster, in dump order (static first). */
export function inspectClusters(clusters: DumpCluster[], eds: Map<string, JsonRecord>): ClusterTls[] {
  return clusters.map((c) => clusterTls(c, eds));
}

function clusterTls(dc: DumpCluster, eds: Map<string, JsonRecord>): ClusterTls {
  const c = dc.cluster;
  let autoCtx: JsonRecord | null = null;
  for (const raw of asArray(c.transport_socket_matches)) {
    const m = asRecord(raw);
    if (asString(asRecord(m?.match)?.tlsMode) !== 'istio') continue;
    autoCtx = tlsContextOf(m?.transport_socket, 'Upstream');
    if (autoCtx) break;
  }
  const explicitCtx = tlsContextOf(c.transport_socket, 'Upstream') ?? asRecord(c.tls_context);
  const ctxRecord = autoCtx ?? explicitCtx;
  const ctx: TlsContextFacts | null = ctxRecord ? readTlsContext(ctxRecord) : null;
  const presents = (ctx?.certificateSecrets.length ?? 0) > 0;
  const upstreamTls: ClusterTls['upstreamTls'] = autoCtx ? 'auto-mtls' : ctx ? (presents ? 'mtls' : 'tls') : 'none';
  const endpoints = endpointsOf(dc, eds);
  const naming = parseClusterName(dc.name);
  const out: ClusterTls = {
    name: dc.name,
    upstreamTls,
    sans: ctx ? ctx.sanMatchers.map((m) => m.value) : [],
    verifiesServer: ctx?.verifiesPeer ?? false,
    presentsClientCertificate: presents,
    controlPlane: CONTROL_PLANE_CLUSTERS.has(dc.name),
    sni: ctx?.sni ?? null,
    alpn: ctx?.alpn ?? [],
    certificateSecrets: ctx?.certificateSecrets ?? [],
    validationSecret: ctx?.validationSecret ?? null,
    direction: naming.direction,
    service: naming.service,
    endpoints,
    sanMatchers: ctx?.sanMatchers ?? [],
    static: dc.static,
    state: dc.state,
    endpointTls: upstreamTls === 'auto-mtls' ? endpointTls(endpoints) : null,
  };
  if (ctx && ctx.trustDomains.length > 0) out.trustDomains = ctx.trustDomains;
  // pilot/pkg/networking/util/util.go AddConfigInfoMetadata (Istio 1.30.3), set by cluster_builder.go for a DestinationRule.
  const istioConfig = asString(asRecord(asRecord(asRecord(c.metadata)?.filter_metadata)?.istio)?.config);
  if (istioConfig) out.istioConfig = istioConfig;
  return out;
}

/** Istio names clusters `<direction>|<port>|<subset>|<host>`. */
export function parseClusterName(name: string): Pick<ClusterTls, 'direction' | 'service'> {
  const parts = name.split('|');
  if (parts.length === 4 && (parts[0] === 'outbound' || parts[0] === 'inbound')) {
    const port = Number(parts[1]);
    return {
      direction: parts[0],
      service: { port: parts[1] !== '' && Number.isInteger(port) ? port : null, subset: parts[2], host: parts[3] },
    };
  }
  return { direction: name.startsWith('outbound_.') ? 'outbound' : 'other', service: null };
}

function endpointsOf(dc: DumpCluster, eds: Map<string, JsonRecord>): ClusterEndpoint[] | null {
  const serviceName = asString(asRecord(dc.cluster.eds_cluster_config)?.service_name) || dc.name;
  const cla = eds.get(serviceName) ?? eds.get(dc.name) ?? asRecord(dc.cluster.load_assignment);
  if (!cla) return null;
  const out: ClusterEndpoint[] = [];
  for (const locality of asArray(cla.endpoints)) {
    for (const raw of asArray(asRecord(locality)?.lb_endpoints)) {
      const lb = asRecord(raw);
      const address = asRecord(asRecord(lb?.endpoint)?.address);
      const sock = asRecord(address?.socket_address);
      const pipe = asString(asRecord(address?.pipe)?.path);
      const internal = asRecord(address?.envoy_internal_address);
      const match = asRecord(asRecord(asRecord(lb?.metadata)?.filter_metadata)?.['envoy.transport_socket_match']);
      out.push({
        address: asString(sock?.address) ?? pipe ?? (internal ? `envoy://${asString(internal.server_listener_name) ?? ''}` : ''),
        port: asNumber(sock?.port_value),
        tlsMode: asString(match?.tlsMode),
      });
    }
  }
  return out;
}

function endpointTls(endpoints: ClusterEndpoint[] | null): ClusterTls['endpointTls'] {
  if (!endpoints || endpoints.length === 0) return null;
  const istio = endpoints.filter((e) => e.tlsMode === 'istio').length;
  if (istio === endpoints.length) return 'mtls';
  return istio === 0 ? 'none' : 'mixed';
}
