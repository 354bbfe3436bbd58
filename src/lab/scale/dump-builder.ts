import type { InboundMode } from '../../envoy/types.js';
import { ENVOY_FOR_ISTIO, REJECTED_LISTENER, type FleetPlan, type GatewayCredentialSpec, type ProxySpec } from './plan.js';
import { istioDownstreamTls, istioUpstreamTls, sdsSecret, type SdsSource } from '../istio-shape/tls.js';
import { DUMP_FIELDS } from './config-dump-query.js';
import { dynamicEndpointConfig, lbEndpoint, staticEndpointConfigs } from '../istio-shape/eds.js';

/** Istio's SDS sources: istio-agent's socket for workload secrets, ADS for kubernetes:// credentials. */
const ISTIO_SDS: SdsSource = (name) => name.startsWith('kubernetes://')
  ? { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }
  : { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }], set_node_on_first_message_only: true, transport_api_version: 'V3' }, initial_fetch_timeout: '0s', resource_api_version: 'V3' };

/**
 * Istio-shaped /config_dump sections for one fleet proxy, built on request (nothing is cached
 * per proxy, so a fleet of thousands stays small in memory). Shapes follow real istio-proxy
 * dumps: BootstrapConfigDump, ClustersConfigDump (outbound|port||host clusters with
 * transport_socket_matches), ListenersConfigDump (virtualInbound chains per port and mode,
 * outbound IP_port listeners), RoutesConfigDump and SecretsConfigDump (inline PEMs).
 */

type Json = Record<string, unknown>;
const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const UPDATED = '2025-01-01T00:00:00.000Z';

export interface CatalogService { host: string; namespace: string; name: string; port: number; ip: string }

/** The mesh's service catalog that proxies see a slice of (real services first, then filler). */
export function buildCatalog(plan: FleetPlan, size = 480): CatalogService[] {
  const out: CatalogService[] = [];
  for (const s of plan.services) {
    for (const port of s.ports) out.push({ host: `${s.app}.${s.namespace}.svc.cluster.local`, namespace: s.namespace, name: s.app, port, ip: '' });
  }
  for (let i = 0; out.length < size; i++) {
    const ns = `shared-${String(i % 17).padStart(2, '0')}`;
    out.push({ host: `catalog-${i}.${ns}.svc.cluster.local`, namespace: ns, name: `catalog-${i}`, port: i % 3 === 0 ? 9080 : 8080, ip: '' });
  }
  out.forEach((s, i) => { s.ip = `10.96.${(i >> 8) & 255}.${i & 255}`; });
  return out;
}

export interface DumpInputs {
  spec: ProxySpec;
  catalog: CatalogService[];
  chainPem: string;
  rootPem: string;
  /** Gateways: credential name -> PEM chain (absent = Secret missing). */
  credentials: Map<string, string>;
  /** The credentials this proxy serves (gateways only; gatewayCredentialsOf). */
  credentialHosts: Pick<GatewayCredentialSpec, 'name' | 'host' | 'sdsName'>[];
}

const BUILDERS: Record<string, (d: DumpInputs) => Json> = {
  BootstrapConfigDump: (d) => ({ bootstrap: bootstrap(d.spec), last_updated: UPDATED }),
  ClustersConfigDump: (d) => clustersSection(d),
  EndpointsConfigDump: (d) => endpointsSection(d),
  ListenersConfigDump: (d) => listenersSection(d),
  ScopedRoutesConfigDump: () => ({}),
  RoutesConfigDump: (d) => routesSection(d),
  SecretsConfigDump: (d) => secretsSection(d),
};

/**
 * The dump as Envoy's admin returns it: with `mask` (a FieldMask: comma-separated paths), only
 * the sections whose type has every masked field are kept, trimmed to the mask (the others are
 * not built at all); null when the mask fits no section (Envoy answers 400). EDS
 * (EndpointsConfigDump) only with `include_eds`, as `istioctl proxy-config all` asks for it.
 */
export function configDump(d: DumpInputs, mask: string | null, includeEds = false): Json | null {
  const paths = mask ? mask.split(',').map((p) => p.trim()).filter(Boolean) : null;
  const configs: Json[] = [];
  for (const type of Object.keys(BUILDERS)) {
    if (type === 'EndpointsConfigDump' && !includeEds) continue;
    const fields = DUMP_FIELDS[type];
    const typed = { '@type': `${ADMIN}${type}` };
    if (paths && !paths.every((p) => fields.includes(p.split('.')[0]))) continue;
    const section = BUILDERS[type](d);
    configs.push({ ...typed, ...(paths ? applyMask(section, paths) : section) });
  }
  if (paths && configs.length === 0) return null;
  return { configs };
}

/** `?resource=` values the fleet serves: the section holding the list, and the list items' admin type. */
const RESOURCES: Record<string, { section: string; item: string }> = {
  dynamic_listeners: { section: 'ListenersConfigDump', item: 'ListenersConfigDump.DynamicListener' },
  static_listeners: { section: 'ListenersConfigDump', item: 'ListenersConfigDump.StaticListener' },
  dynamic_active_clusters: { section: 'ClustersConfigDump', item: 'ClustersConfigDump.DynamicCluster' },
  dynamic_warming_clusters: { section: 'ClustersConfigDump', item: 'ClustersConfigDump.DynamicCluster' },
  static_clusters: { section: 'ClustersConfigDump', item: 'ClustersConfigDump.StaticCluster' },
  dynamic_active_secrets: { section: 'SecretsConfigDump', item: 'SecretsConfigDump.DynamicSecret' },
  dynamic_warming_secrets: { section: 'SecretsConfigDump', item: 'SecretsConfigDump.DynamicSecret' },
  dynamic_route_configs: { section: 'RoutesConfigDump', item: 'RoutesConfigDump.DynamicRouteConfig' },
};

function itemName(item: Json): string {
  if (typeof item.name === 'string') return item.name;
  for (const k of ['cluster', 'route_config', 'listener', 'secret']) {
    const inner = item[k] as Json | undefined;
    if (inner && typeof inner.name === 'string') return inner.name;
  }
  return '';
}

/**
 * `/config_dump?resource=R[&name_regex=RE][&mask=...]` as Envoy answers it: one config per item
 * of list R (e.g. dynamic_listeners), each typed as the list's item message, filtered by name
 * (full match, RE2-like) and trimmed by the mask. Null when R is not a resource Envoy knows.
 */
export function configDumpResource(d: DumpInputs, resource: string, nameRegex: string | null, mask: string | null): Json | null {
  const r = RESOURCES[resource];
  if (!r) return null;
  const re = nameRegex ? new RegExp(`^(?:${nameRegex})$`) : null;
  const paths = mask ? mask.split(',').map((p) => p.trim()).filter(Boolean) : null;
  const items = ((BUILDERS[r.section](d)[resource] as Json[] | undefined) ?? []).filter((i) => !re || re.test(itemName(i)));
  return { configs: items.map((i) => ({ '@type': `${ADMIN}${r.item}`, ...(paths ? applyMask(i, paths) : i) })) };
}

/** FieldMask trimming: keep only the masked paths (nested through singular messages). */
export function applyMask(obj: Json, paths: string[]): Json {
  const out: Json = {};
  const groups = new Map<string, string[]>();
  for (const p of paths) {
    const [head, ...rest] = p.split('.');
    const list = groups.get(head) ?? [];
    list.push(rest.join('.'));
    groups.set(head, list);
  }
  for (const [head, subs] of groups) {
    if (!(head in obj)) continue;
    const v = obj[head];
    if (subs.some((s) => s === '') || typeof v !== 'object' || v === null || Array.isArray(v)) out[head] = v;
    else out[head] = applyMask(v as Json, subs);
  }
  return out;
}

export function envoyVersionOf(istioVersion: string): string {
  return ENVOY_FOR_ISTIO[istioVersion.split('.').slice(0, 2).join('.')] ?? ENVOY_FOR_ISTIO['1.30'];
}

function bootstrap(p: ProxySpec): Json {
  const kind = p.gateway ? 'router' : 'sidecar';
  const [major, minor, patch] = envoyVersionOf(p.istioVersion).split('.').map(Number);
  return {
    node: {
      id: `${kind}~${p.ip}~${p.name}.${p.namespace}~${p.namespace}.svc.cluster.local`,
      cluster: `${p.app}.${p.namespace}`,
      metadata: {
        SERVICE_ACCOUNT: p.serviceAccount, NAMESPACE: p.namespace, NAME: p.name, WORKLOAD_NAME: p.app,
        LABELS: { app: p.app, 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': p.app, 'service.istio.io/canonical-revision': 'latest' },
        OWNER: `kubernetes://apis/apps/v1/namespaces/${p.namespace}/deployments/${p.app}`,
        ISTIO_VERSION: p.istioVersion, MESH_ID: 'cluster.local', CLUSTER_ID: 'Kubernetes', INSTANCE_IPS: p.ip,
        INTERCEPTION_MODE: 'REDIRECT', ENVOY_STATUS_PORT: 15021, ENVOY_PROMETHEUS_PORT: 15090,
        PILOT_SAN: ['istiod.istio-system.svc'], ANNOTATIONS: { 'istio.io/rev': p.revision },
        PROXY_CONFIG: { proxyAdminPort: 15000, statusPort: 15020, discoveryAddress: `istiod${p.revision === 'default' ? '' : `-${p.revision}`}.istio-system.svc:15012`, concurrency: 2, drainDuration: '45s' },
        POD_PORTS: JSON.stringify(p.ports.map((containerPort) => ({ containerPort, protocol: 'TCP' }))),
      },
      locality: {},
      user_agent_name: 'envoy',
      user_agent_build_version: { version: { major_number: major, minor_number: minor, patch }, metadata: { 'build.type': 'RELEASE', 'ssl.version': 'BoringSSL', 'revision.status': 'Clean' } },
    },
    static_resources: {
      listeners: [{ address: { socket_address: { address: '0.0.0.0', port_value: 15090 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager' }] }] }],
      clusters: ['prometheus_stats', 'agent', 'sds-grpc', 'xds-grpc'].map((name) => ({ name, type: 'STATIC', connect_timeout: '0.250s' })),
    },
    dynamic_resources: { lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' } },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } },
  };
}

function outboundCluster(s: CatalogService): Json {
  const name = `outbound|${s.port}||${s.host}`;
  return {
    version_info: '2025-01-01T00:00:00Z/42',
    cluster: {
      '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
      name, type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, service_name: name },
      connect_timeout: '10s', lb_policy: 'LEAST_REQUEST',
      circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }] },
      metadata: { filter_metadata: { istio: { services: [{ namespace: s.namespace, host: s.host, name: s.name }] } } },
      common_lb_config: { locality_weighted_lb_config: {} },
      filters: [{ name: 'istio.metadata_exchange', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange', value: { protocol: 'istio-peer-exchange', enable_discovery: true } } }],
      transport_socket_matches: [
        { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioUpstreamTls(s.port, s.host, `spiffe://cluster.local/ns/${s.namespace}/sa/${s.name}`, ISTIO_SDS) },
        { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } } },
      ],
    },
    last_updated: UPDATED,
  };
}

function visible(d: DumpInputs): CatalogService[] {
  const n = Math.min(d.spec.visibleServices, d.catalog.length);
  const start = (d.spec.index * 7) % d.catalog.length;
  const out: CatalogService[] = [];
  for (let i = 0; i < n; i++) out.push(d.catalog[(start + i) % d.catalog.length]);
  return out;
}

/**
 * One ClusterLoadAssignment per outbound cluster, as istio-proxy's EDS dump holds them: 1 to 3
 * endpoints of the service's pods, with the workload metadata and the tlsMode-istio socket match
 * that injected pods carry.
 */
function endpointsSection(d: DumpInputs): Json {
  const position = new Map(d.catalog.map((s, i) => [s, i]));
  const dynamic = visible(d).map((s) => {
    const i = position.get(s) ?? 0;
    const endpoints = Array.from({ length: 1 + (i % 3) }, (_, k) =>
      lbEndpoint(`10.244.${(i >> 6) & 255}.${((i & 63) << 2) + k + 1}`, s.port, `${s.name}-v1;${s.namespace};${s.name};v1;Kubernetes`, true));
    return dynamicEndpointConfig(`outbound|${s.port}||${s.host}`, endpoints);
  });
  return { static_endpoint_configs: staticEndpointConfigs(), dynamic_endpoint_configs: dynamic };
}

function clustersSection(d: DumpInputs): Json {
  const dynamic = visible(d).map(outboundCluster);
  for (const port of d.spec.ports) {
    dynamic.push({ version_info: '2025-01-01T00:00:00Z/42', cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: `inbound|${port}||`, type: 'ORIGINAL_DST', connect_timeout: '10s', lb_policy: 'CLUSTER_PROVIDED', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } }, last_updated: UPDATED });
  }
  return {
    version_info: '2025-01-01T00:00:00Z/42',
    static_clusters: ['BlackHoleCluster', 'InboundPassthroughCluster', 'PassthroughCluster'].map((name) => ({ cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name, type: name === 'BlackHoleCluster' ? 'STATIC' : 'ORIGINAL_DST', connect_timeout: '10s' }, last_updated: UPDATED })),
    dynamic_active_clusters: dynamic,
  };
}

const MX_FILTER = { name: 'istio.metadata_exchange', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange', value: { protocol: 'istio-peer-exchange', enable_discovery: true } } };

function tcpProxy(cluster: string): Json {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: cluster, cluster } };
}

function outboundListener(s: CatalogService): Json {
  const name = `${s.ip}_${s.port}`;
  const cluster = `outbound|${s.port}||${s.host}`;
  return {
    name,
    active_state: {
      version_info: '2025-01-01T00:00:00Z/42',
      listener: {
        '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name,
        address: { socket_address: { address: s.ip, port_value: s.port } },
        filter_chains: [{ filters: [MX_FILTER, { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } }, tcpProxy(cluster)] }],
        default_filter_chain: { filters: [tcpProxy('PassthroughCluster')], name: 'PassthroughFilterChain' },
        traffic_direction: 'OUTBOUND', bind_to_port: false,
      },
      last_updated: UPDATED,
    },
  };
}

/** Istio's inbound chains for one port (0: the catch-all) in a given mode. */
function inboundChains(port: number, mode: InboundMode): Json[] {
  const match = (extra: Json): Json => (port === 0 ? { prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: 0 }], ...extra } : { destination_port: port, ...extra });
  const name = port === 0 ? 'virtualInbound' : `0.0.0.0_${port}`;
  const cluster = port === 0 ? 'InboundPassthroughCluster' : `inbound|${port}||`;
  const chains: Json[] = [];
  if (mode !== 'PLAINTEXT') {
    chains.push({ filter_chain_match: match({ transport_protocol: 'tls', application_protocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] }), filters: [MX_FILTER, { name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: cluster, route_config: { name: cluster } } }], transport_socket: istioDownstreamTls(['h2', 'http/1.1'], ISTIO_SDS), name });
    chains.push({ filter_chain_match: match({ transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] }), filters: [MX_FILTER, tcpProxy(cluster)], transport_socket: istioDownstreamTls(['istio-peer-exchange', 'h2', 'http/1.1'], ISTIO_SDS), name });
  }
  if (mode !== 'STRICT') {
    chains.push({ filter_chain_match: match({ transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }), filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: cluster } }], name });
    chains.push({ filter_chain_match: match({ transport_protocol: 'raw_buffer' }), filters: [tcpProxy(cluster)], name });
  }
  return chains;
}

function virtualInbound(p: ProxySpec): Json {
  const chains: Json[] = [{ filter_chain_match: { destination_port: 15006 }, filters: [tcpProxy('BlackHoleCluster')], name: 'virtualInbound-blackhole' }];
  chains.push(...inboundChains(0, p.inbound[0] ?? 'STRICT'));
  for (const port of p.ports) chains.push(...inboundChains(port, p.inbound[port] ?? 'STRICT'));
  return {
    name: 'virtualInbound',
    active_state: {
      version_info: '2025-01-01T00:00:00Z/42',
      listener: {
        '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'virtualInbound',
        address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
        filter_chains: chains,
        listener_filters: [{ name: 'envoy.filters.listener.original_dst' }, { name: 'envoy.filters.listener.tls_inspector' }, { name: 'envoy.filters.listener.http_inspector' }],
        traffic_direction: 'INBOUND', continue_on_listener_filters_timeout: true,
      },
      last_updated: UPDATED,
    },
  };
}

/**
 * The HTTPS listener of a gateway: 0.0.0.0_8443 for istio-ingressgateway (Service 443 -> 8443),
 * 0.0.0.0_443 for a Gateway API gateway (Istio's gateway controller binds the listener port).
 */
function gatewayListener(d: DumpInputs): Json {
  const port = d.spec.gatewayApi ? 443 : 8443;
  const name = `0.0.0.0_${port}`;
  const chains = d.credentialHosts.map((c) => ({
    filter_chain_match: { server_names: [c.host] },
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: `outbound_${name}`, rds: { route_config_name: `https.443.https-${c.name}.gateway.${d.spec.namespace}` } } }],
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: { alpn_protocols: ['h2', 'http/1.1'], tls_certificate_sds_secret_configs: [sdsSecret(c.sdsName, ISTIO_SDS)] },
        require_client_certificate: false,
      },
    },
  }));
  return {
    name,
    active_state: { version_info: '2025-01-01T00:00:00Z/42', listener: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name, address: { socket_address: { address: '0.0.0.0', port_value: port } }, filter_chains: chains, listener_filters: [{ name: 'envoy.filters.listener.tls_inspector' }] }, last_updated: UPDATED },
  };
}

function listenersSection(d: DumpInputs): Json {
  const p = d.spec;
  const dynamic: Json[] = visible(d).map(outboundListener);
  if (p.gateway) dynamic.push(gatewayListener(d));
  else {
    dynamic.push({ name: 'virtualOutbound', active_state: { listener: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'virtualOutbound', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, filter_chains: [{ filters: [tcpProxy('PassthroughCluster')], name: 'virtualOutbound-catchall-tcp' }], use_original_dst: true, traffic_direction: 'OUTBOUND' }, last_updated: UPDATED } });
    dynamic.push(virtualInbound(p));
  }
  if (p.variant === 'listener-error') {
    dynamic.push({
      name: REJECTED_LISTENER,
      error_state: {
        failed_configuration: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: REJECTED_LISTENER, address: { socket_address: { address: '0.0.0.0', port_value: 9411 } }, filter_chains: [{ filters: [tcpProxy('outbound|9411||zipkin.istio-system.svc.cluster.local')] }, { filters: [tcpProxy('PassthroughCluster')] }] },
        last_update_attempt: UPDATED,
        details: `Error adding/updating listener(s) ${REJECTED_LISTENER}: error adding listener '${REJECTED_LISTENER}': multiple filter chains with the same matching rules are defined`,
      },
    });
  }
  return { version_info: '2025-01-01T00:00:00Z/42', dynamic_listeners: dynamic };
}

function routesSection(d: DumpInputs): Json {
  const ports = [...new Set(visible(d).map((s) => s.port))];
  return {
    dynamic_route_configs: ports.map((port) => ({
      version_info: '2025-01-01T00:00:00Z/42',
      route_config: {
        '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', name: String(port),
        virtual_hosts: visible(d).filter((s) => s.port === port).slice(0, 40).map((s) => ({
          name: `${s.host}:${port}`, domains: [s.host, `${s.name}.${s.namespace}`, s.ip],
          routes: [{ match: { prefix: '/' }, route: { cluster: `outbound|${port}||${s.host}`, timeout: '0s' }, name: 'default' }],
        })),
        validate_clusters: false,
      },
      last_updated: UPDATED,
    })),
  };
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

const REDACTED = b64('[redacted]');

function secretsSection(d: DumpInputs): Json {
  const active: Json[] = [
    { name: 'default', version_info: UPDATED, last_updated: UPDATED, secret: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', name: 'default', tls_certificate: { certificate_chain: { inline_bytes: b64(d.chainPem) }, private_key: { inline_bytes: REDACTED } } } },
    { name: 'ROOTCA', version_info: UPDATED, last_updated: UPDATED, secret: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', name: 'ROOTCA', validation_context: { trusted_ca: { inline_bytes: b64(d.rootPem) } } } },
  ];
  const warming: Json[] = [];
  if (d.spec.gateway) {
    for (const c of d.credentialHosts) {
      const name = c.sdsName;
      const pem = d.credentials.get(c.name);
      if (pem) active.push({ name, version_info: UPDATED, last_updated: UPDATED, secret: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', name, tls_certificate: { certificate_chain: { inline_bytes: b64(pem) }, private_key: { inline_bytes: REDACTED } } } });
      else warming.push({ name, version_info: 'uninitialized', last_updated: UPDATED, secret: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', name } });
    }
  }
  return { dynamic_active_secrets: active, ...(warming.length > 0 ? { dynamic_warming_secrets: warming } : {}) };
}
