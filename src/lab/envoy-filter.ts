import { APP_PORT, BFF_WORKLOAD, GATEWAY_NAMESPACE, SVC_WORKLOAD, outboundCluster, serviceFqdn } from '../topology/reference.js';

/**
 * The one kind of EnvoyFilter the lab's istiod applies: a MERGE of `tls_params` into the TLS
 * transport socket of a proxy's filter chains or clusters, the way users set what no Istio API
 * sets (the key-exchange groups of mesh mTLS in Istio 1.30, see control-plane.ts meshMtlsParams).
 * Pure. Traced to istio pilot/pkg/networking/core/envoyfilter at 1.30.3:
 * - listener_patch.go patchFilterChain + mergeTransportSocketListener: a FILTER_CHAIN MERGE whose
 *   value has a transport_socket of the chain's socket name is merged into that socket's
 *   typed_config (util.MergeAnyWithAny: proto merge, so repeated fields such as cipher_suites are
 *   appended and scalars replaced); a chain without a transport socket gets the whole value
 *   instead (a TLS socket without a certificate, which Envoy rejects): the lab does not model that
 *   and ignores such a patch, naming it;
 * - cluster_patch.go ApplyClusterMerge + mergeTransportSocketCluster: a CLUSTER MERGE goes into the
 *   first transport_socket_matches entry of that socket name (tlsMode-istio), the same way;
 *   clusterMatch takes match.cluster.name, or service / portNumber from the cluster name;
 * - model/push_context.go EnvoyFilters: the root namespace's filters and the proxy's namespace's,
 *   narrowed by workloadSelector to pods with those labels, ordered by priority, then root
 *   namespace first, then creation time, then name.
 * Anything else in an EnvoyFilter is not modelled by the lab: it is listed in
 * MeshState.envoyFiltersIgnored (and logged), never half-applied.
 */

/** Envoy TlsParameters fields as a patch writes them (snake_case). */
export type TlsParamsPatch = Record<string, unknown>;

export type LabProxyRole = 'gateway' | 'bff' | 'svc';

export interface ProxyTlsPatches {
  /** Merged, in order, into the TLS filter chains (sidecars: inbound mesh mTLS; gateway: its HTTPS server). */
  listener: TlsParamsPatch[];
  /** Merged, in order, into the tlsMode-istio socket of the outbound cluster of each target host. */
  clusters: { host: string; patch: TlsParamsPatch }[];
}

interface FilterObject {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const TLS_SOCKET = 'envoy.transport_sockets.tls';
const DOWNSTREAM = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const UPSTREAM = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const TARGET_HOSTS = [BFF_WORKLOAD, SVC_WORKLOAD].map((w) => serviceFqdn(w.name, w.namespace));

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** protojson reads both spellings: the lab reads a key in either. */
function field(o: unknown, name: string): unknown {
  if (!o || typeof o !== 'object') return undefined;
  const r = o as Record<string, unknown>;
  return r[name] ?? r[name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
}

/** The tls_params of a transport_socket value, when that is all it patches; else a reason. */
function tlsParamsOf(value: unknown, type: string): { params: TlsParamsPatch } | { reason: string } {
  const keys = value && typeof value === 'object' ? Object.keys(value) : [];
  const ts = field(value, 'transport_socket');
  if (keys.length !== 1 || !ts) return { reason: 'the patch value is not only a transport_socket' };
  if (field(ts, 'name') !== TLS_SOCKET) return { reason: `the transport_socket is not ${TLS_SOCKET}` };
  const typed = field(ts, 'typed_config') as Record<string, unknown> | undefined;
  if (!typed || typed['@type'] !== type) return { reason: `the typed_config is not ${type.split('/')[1]}` };
  const rest = Object.keys(typed).filter((k) => k !== '@type');
  const common = field(typed, 'common_tls_context');
  const params = field(common, 'tls_params');
  if (rest.length !== 1 || !common || Object.keys(common as object).length !== 1 || !params || typeof params !== 'object') {
    return { reason: 'the typed_config patches more than common_tls_context.tls_params' };
  }
  return { params: Object.fromEntries(Object.entries(params as Record<string, unknown>).map(([k, v]) => [snake(k), v])) };
}

function selects(selector: unknown, labels: Record<string, string>): boolean {
  const m = (field(selector, 'labels') ?? {}) as Record<string, string>;
  return Object.entries(m).every(([k, v]) => labels[k] === v);
}

export interface LabProxyIdentity { role: LabProxyRole; namespace: string; labels: Record<string, string> }

/**
 * The tls_params patches each proxy gets, and the EnvoyFilters (or patches) the lab ignored, with why.
 * `rootNamespace`: Istio's root namespace (istio-system).
 */
export function envoyFilterTls(objects: FilterObject[], proxies: LabProxyIdentity[], rootNamespace = GATEWAY_NAMESPACE): { patches: Record<LabProxyRole, ProxyTlsPatches>; ignored: string[] } {
  const patches = Object.fromEntries(proxies.map((p) => [p.role, { listener: [], clusters: [] } as ProxyTlsPatches])) as Record<LabProxyRole, ProxyTlsPatches>;
  const ignored: string[] = [];
  const root = (f: FilterObject) => (f.metadata.namespace === rootNamespace ? 0 : 1);
  const order = (a: FilterObject, b: FilterObject) => (Number(a.spec?.priority ?? 0) - Number(b.spec?.priority ?? 0)) || root(a) - root(b)
    || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || `${a.metadata.name}.${a.metadata.namespace}`.localeCompare(`${b.metadata.name}.${b.metadata.namespace}`);
  const filters = objects.filter((o) => o.kind === 'EnvoyFilter' && String(o.apiVersion ?? '').startsWith('networking.istio.io/'));
  const noted = new Set<string>();
  const ignore = (f: FilterObject, i: number, why: string) => {
    const line = `EnvoyFilter ${f.metadata.namespace}/${f.metadata.name} configPatches[${i}]: not modelled by the lab (${why})`;
    if (!noted.has(line)) { noted.add(line); ignored.push(line); }
  };
  for (const proxy of proxies) {
    const applicable = filters
      .filter((f) => f.metadata.namespace === rootNamespace || f.metadata.namespace === proxy.namespace)
      .filter((f) => !f.spec?.workloadSelector || selects(f.spec.workloadSelector, proxy.labels))
      .sort(order);
    for (const f of applicable) {
      if (f.spec?.targetRefs?.length) { ignore(f, 0, 'targetRefs'); continue; }
      ((f.spec?.configPatches ?? []) as unknown[]).forEach((cp, i) => {
        const applyTo = field(cp, 'apply_to');
        const match = (field(cp, 'match') ?? {}) as Record<string, unknown>;
        const patch = field(cp, 'patch');
        const context = String(field(match, 'context') ?? 'ANY');
        if (field(patch, 'operation') !== 'MERGE') { ignore(f, i, `operation ${String(field(patch, 'operation'))}`); return; }
        if (field(match, 'proxy')) { ignore(f, i, 'match.proxy'); return; }
        const wanted = proxy.role === 'gateway' ? 'GATEWAY' : applyTo === 'CLUSTER' ? 'SIDECAR_OUTBOUND' : 'SIDECAR_INBOUND';
        if (context !== 'ANY' && context !== wanted && ['GATEWAY', 'SIDECAR_INBOUND', 'SIDECAR_OUTBOUND'].includes(context)) return; // not this proxy's context
        if (applyTo === 'FILTER_CHAIN') {
          if (context === 'ANY' || (proxy.role !== 'gateway' && context !== 'SIDECAR_INBOUND')) { ignore(f, i, `FILTER_CHAIN in context ${context} would reach chains without TLS`); return; }
          const listener = (field(match, 'listener') ?? {}) as Record<string, unknown>;
          const chain = (field(listener, 'filter_chain') ?? {}) as Record<string, unknown>;
          const other = Object.keys(listener).filter((k) => !['portNumber', 'port_number', 'filterChain', 'filter_chain'].includes(k));
          const chainOther = Object.keys(chain).filter((k) => !['transportProtocol', 'transport_protocol', 'sni'].includes(k));
          if (other.length || chainOther.length) { ignore(f, i, `listener match on ${[...other, ...chainOther].join(', ')}`); return; }
          const port = field(listener, 'port_number');
          if (port !== undefined && Number(port) !== (proxy.role === 'gateway' ? 8443 : APP_PORT)) return;
          if (proxy.role !== 'gateway' && field(chain, 'transport_protocol') !== 'tls') { ignore(f, i, 'a SIDECAR_INBOUND FILTER_CHAIN patch without filterChain.transportProtocol: tls would give a TLS socket without a certificate to plaintext chains'); return; }
          const got = tlsParamsOf(field(patch, 'value'), DOWNSTREAM);
          if ('reason' in got) { ignore(f, i, got.reason); return; }
          patches[proxy.role].listener.push(got.params);
          return;
        }
        if (applyTo === 'CLUSTER') {
          if (context === 'ANY') { ignore(f, i, 'CLUSTER in context ANY would reach inbound and passthrough clusters'); return; }
          const cm = (field(match, 'cluster') ?? null) as Record<string, unknown> | null;
          const name = cm ? field(cm, 'name') : undefined;
          const service = cm ? field(cm, 'service') : undefined;
          const port = cm ? field(cm, 'port_number') : undefined;
          if (!cm || (name === undefined && service === undefined)) { ignore(f, i, 'a CLUSTER patch without match.cluster.name or service would reach clusters without TLS (BlackHole, Passthrough)'); return; }
          if (cm && field(cm, 'subset')) { ignore(f, i, 'match.cluster.subset'); return; }
          const hosts = TARGET_HOSTS.filter((h) => (name === undefined || name === outboundCluster(APP_PORT, h)) && (service === undefined || service === h) && (port === undefined || Number(port) === APP_PORT));
          const got = tlsParamsOf(field(patch, 'value'), UPSTREAM);
          if ('reason' in got) { ignore(f, i, got.reason); return; }
          for (const host of hosts) patches[proxy.role].clusters.push({ host, patch: got.params });
          return;
        }
        ignore(f, i, `applyTo ${String(applyTo)}`);
      });
    }
  }
  return { patches, ignored };
}

/** Envoy's tls_params after the patches, merged as proto.Merge does: scalars replaced, repeated fields appended. */
export function mergeTlsParams(base: Record<string, unknown>, patches: TlsParamsPatch[]): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const p of patches) {
    for (const [k, v] of Object.entries(p)) out[k] = Array.isArray(v) ? [...((out[k] as unknown[] | undefined) ?? []), ...v] : v;
  }
  return out;
}
