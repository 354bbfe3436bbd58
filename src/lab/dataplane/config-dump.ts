import { ACCESS_LOG_FORMAT } from '../../envoy/access-log-format.js';
import {
  APP_PORT, BFF_WORKLOAD, GATEWAY_CREDENTIAL, GATEWAY_HTTPS_PORT, GATEWAY_HTTPS_TARGET_PORT, PUBLIC_HOST, SVC_WORKLOAD,
  ENVOY_ADMIN_PORT, ISTIO_INBOUND_PORT, ISTIO_OUTBOUND_PORT, outboundCluster, serviceFqdn, type Workload,
} from '../../topology/reference.js';
import type { MeshState } from '../types.js';
import { LAB_ENVOY_REVISION, LAB_ISTIO_VERSION, type LabProxy } from './lab-proxy.js';
import { inclusionPatterns } from './stats-matcher.js';
import { autoMtlsMatches, gatewayDownstreamTls, istioDownstreamTls, xdsUpstreamTls } from './tls-config.js';
import { dynamicEndpointConfig, lbEndpoint, staticEndpointConfigs } from './eds-config.js';

/** Everything a proxy's /config_dump is built from; the dump follows the MeshState. */
export interface ConfigDumpInput {
  proxy: LabProxy;
  role: 'gateway' | 'bff' | 'svc';
  state: MeshState;
  /** Pod IPs (as the Kubernetes API reports them) of the mesh workloads, for EDS. */
  podIps: { bff: string; svc: string };
  /** The gateway credential's certificate chain (kubernetes://mesh-verify-credential). */
  gatewayCredentialPem?: string;
  includeEds: boolean;
}

const T = (name: string): string => `type.googleapis.com/envoy.${name}`;
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Config delivered by istiod over ADS. */
const ADS = { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' };
const rds = (routeConfigName: string): Record<string, unknown> => ({ rds: { config_source: ADS, route_config_name: routeConfigName } });

function listenerBase(port: number, name = `0.0.0.0_${port}`): Record<string, unknown> {
  return { '@type': T('config.listener.v3.Listener'), name, address: { socket_address: { address: '0.0.0.0', port_value: port } } };
}

function ts(d: Date): string {
  return d.toISOString();
}

function accessLog(): Record<string, unknown>[] {
  return [{
    name: 'envoy.access_loggers.file',
    typed_config: {
      '@type': T('extensions.access_loggers.file.v3.FileAccessLog'),
      path: '/dev/stdout',
      log_format: { json_format: ACCESS_LOG_FORMAT },
    },
  }];
}

function hcm(statPrefix: string, route: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': T('extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
      stat_prefix: statPrefix,
      ...route,
      http_filters: [
        { name: 'istio.metadata_exchange', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config' } },
        { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } },
        { name: 'envoy.filters.http.router', typed_config: { '@type': T('extensions.filters.http.router.v3.Router') } },
      ],
      access_log: accessLog(),
      use_remote_address: false,
      request_id_extension: { typed_config: { '@type': T('extensions.request_id.uuid.v3.UuidRequestIdConfig'), use_request_id_for_trace_sampling: true } },
      ...extra,
    },
  };
}

function tcpProxy(cluster: string, statPrefix: string): Record<string, unknown> {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': T('extensions.filters.network.tcp_proxy.v3.TcpProxy'), stat_prefix: statPrefix, cluster, access_log: accessLog() },
  };
}

const ALL_V4 = [{ address_prefix: '0.0.0.0', prefix_len: 0 }];
const HTTP_TLS_ALPN = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

function inboundHcm(): Record<string, unknown> {
  const cluster = `inbound|${APP_PORT}||`;
  return hcm(`inbound_0.0.0.0_${APP_PORT}`, {
    route_config: {
      name: cluster,
      virtual_hosts: [{ name: `inbound|http|${APP_PORT}`, domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: '0s', max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' } }, decorator: { operation: ':8080/*' } }] }],
      validate_clusters: false,
    },
  }, { forward_client_cert_details: 'APPEND_FORWARD', set_current_client_cert_details: { subject: true, dns: true, uri: true } });
}

/** virtualInbound 0.0.0.0_15006: per-port chains for 8080 and passthrough chains; raw_buffer only when PERMISSIVE. */
function virtualInbound(mode: 'STRICT' | 'PERMISSIVE'): Record<string, unknown> {
  const permissive = mode === 'PERMISSIVE';
  const passthrough = 'InboundPassthroughClusterIpv4';
  const chains: Record<string, unknown>[] = [
    { name: 'virtualInbound-blackhole', filter_chain_match: { destination_port: ISTIO_INBOUND_PORT }, filters: [tcpProxy('BlackHoleCluster', 'BlackHoleCluster')] },
    { name: 'virtualInbound', filter_chain_match: { prefix_ranges: ALL_V4, transport_protocol: 'tls' }, transport_socket: istioDownstreamTls(['istio-peer-exchange', 'h2', 'http/1.1']), filters: [tcpProxy(passthrough, passthrough)] },
  ];
  if (permissive) chains.push({ name: 'virtualInbound', filter_chain_match: { prefix_ranges: ALL_V4, transport_protocol: 'raw_buffer' }, filters: [tcpProxy(passthrough, passthrough)] });
  const name = `0.0.0.0_${APP_PORT}`;
  chains.push({ name, filter_chain_match: { destination_port: APP_PORT, transport_protocol: 'tls', application_protocols: HTTP_TLS_ALPN }, transport_socket: istioDownstreamTls(['h2', 'http/1.1']), filters: [inboundHcm()] });
  if (permissive) chains.push({ name, filter_chain_match: { destination_port: APP_PORT, transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }, filters: [inboundHcm()] });
  chains.push({ name, filter_chain_match: { destination_port: APP_PORT, transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] }, transport_socket: istioDownstreamTls(['istio-peer-exchange', 'h2', 'http/1.1']), filters: [tcpProxy(`inbound|${APP_PORT}||`, `inbound|${APP_PORT}||`)] });
  if (permissive) chains.push({ name, filter_chain_match: { destination_port: APP_PORT, transport_protocol: 'raw_buffer' }, filters: [tcpProxy(`inbound|${APP_PORT}||`, `inbound|${APP_PORT}||`)] });
  return {
    ...listenerBase(ISTIO_INBOUND_PORT, 'virtualInbound'),
    filter_chains: chains,
    listener_filters: [
      { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': T('extensions.filters.listener.original_dst.v3.OriginalDst') } },
      { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': T('extensions.filters.listener.tls_inspector.v3.TlsInspector') } },
      { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': T('extensions.filters.listener.http_inspector.v3.HttpInspector') } },
    ],
    listener_filters_timeout: '0s',
    traffic_direction: 'INBOUND',
    continue_on_listener_filters_timeout: true,
    access_log: accessLog(),
  };
}

function virtualOutbound(): Record<string, unknown> {
  return {
    ...listenerBase(ISTIO_OUTBOUND_PORT, 'virtualOutbound'),
    filter_chains: [{ filter_chain_match: { destination_port: ISTIO_OUTBOUND_PORT }, filters: [tcpProxy('BlackHoleCluster', 'BlackHoleCluster')], name: 'virtualOutbound-blackhole' }, { filters: [tcpProxy('PassthroughCluster', 'PassthroughCluster')], name: 'virtualOutbound-catchall-tcp' }],
    use_original_dst: true,
    traffic_direction: 'OUTBOUND',
    access_log: accessLog(),
  };
}

function outboundHttpListener(): Record<string, unknown> {
  const name = `0.0.0.0_${APP_PORT}`;
  return {
    ...listenerBase(APP_PORT),
    filter_chains: [{
      filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] },
      filters: [hcm(`outbound_0.0.0.0_${APP_PORT}`, rds(String(APP_PORT)))],
      name,
    }],
    default_filter_chain: { filters: [tcpProxy('PassthroughCluster', 'PassthroughCluster')], name: 'PassthroughFilterChain' },
    listener_filters: [{ name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': T('extensions.filters.listener.http_inspector.v3.HttpInspector') } }],
    traffic_direction: 'OUTBOUND',
    bind_to_port: false,
  };
}

export const GATEWAY_ROUTE_NAME = `https.${GATEWAY_HTTPS_PORT}.https.mesh-verify-gateway.istio-system`;

function gatewayListener(): Record<string, unknown> {
  const name = `0.0.0.0_${GATEWAY_HTTPS_TARGET_PORT}`;
  return {
    ...listenerBase(GATEWAY_HTTPS_TARGET_PORT),
    filter_chains: [{
      filter_chain_match: { server_names: [PUBLIC_HOST] },
      filters: [hcm(`outbound_0.0.0.0_${GATEWAY_HTTPS_TARGET_PORT}`, rds(GATEWAY_ROUTE_NAME), { forward_client_cert_details: 'SANITIZE_SET', use_remote_address: true })],
      transport_socket: gatewayDownstreamTls(GATEWAY_CREDENTIAL),
      name: `${name}-${PUBLIC_HOST}`,
    }],
    listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': T('extensions.filters.listener.tls_inspector.v3.TlsInspector') } }],
    traffic_direction: 'OUTBOUND',
  };
}

const CIRCUIT = { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }] };

function outboundClusterConfig(workload: Workload, state: MeshState): Record<string, unknown> {
  const host = serviceFqdn(workload.name, workload.namespace);
  const name = outboundCluster(APP_PORT, host);
  const cluster: Record<string, unknown> = {
    '@type': T('config.cluster.v3.Cluster'),
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, service_name: name },
    connect_timeout: '10s',
    lb_policy: 'LEAST_REQUEST',
    circuit_breakers: CIRCUIT,
    metadata: { filter_metadata: { istio: { services: [{ host, name: workload.name, namespace: workload.namespace }] } } },
    common_lb_config: { locality_weighted_lb_config: {} },
    filters: [{ name: 'istio.metadata_exchange', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange', value: { protocol: 'istio-peer-exchange', enable_discovery: true } } }],
  };
  // A DestinationRule with tls.mode DISABLE (plaintext-gateway-bff) removes auto mTLS from the cluster.
  const disabled = workload.id === BFF_WORKLOAD.id && state.gatewayToBff === 'plaintext';
  if (disabled) (cluster.metadata as { filter_metadata: { istio: Record<string, unknown> } }).filter_metadata.istio.config = `/apis/networking.istio.io/v1/namespaces/${workload.namespace}/destination-rule/${workload.name}`;
  else cluster.transport_socket_matches = autoMtlsMatches(APP_PORT, host, workload.spiffeId);
  return cluster;
}

function staticCluster(name: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { '@type': T('config.cluster.v3.Cluster'), name, type: 'STATIC', connect_timeout: '1s', ...extra };
}

function pipeEndpoint(cluster: string, path: string): Record<string, unknown> {
  return { cluster_name: cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path } } } }] }] };
}

function bootstrap(input: ConfigDumpInput): Record<string, unknown> {
  const { proxy, state } = input;
  const p = proxy.placement;
  const w = p.workload;
  return {
    node: {
      id: proxy.nodeId,
      cluster: `${w.name}.${w.namespace}`,
      metadata: {
        ISTIO_VERSION: LAB_ISTIO_VERSION,
        LABELS: p.labels,
        NAMESPACE: w.namespace,
        SERVICE_ACCOUNT: w.serviceAccount,
        WORKLOAD_NAME: w.name,
        NAME: p.podName,
        OWNER: `kubernetes://apis/apps/v1/namespaces/${w.namespace}/deployments/${w.name}`,
        INSTANCE_IPS: p.podIp,
        CLUSTER_ID: 'Kubernetes',
        MESH_ID: 'cluster.local',
        INTERCEPTION_MODE: 'REDIRECT',
        PILOT_SAN: ['istiod.istio-system.svc'],
        ENVOY_STATUS_PORT: 15021,
        ENVOY_PROMETHEUS_PORT: 15090,
        ...(p.kind === 'sidecar' ? { APP_CONTAINERS: w.name, POD_PORTS: JSON.stringify([{ containerPort: APP_PORT, protocol: 'TCP' }]) } : {}),
        PROXY_CONFIG: {
          discoveryAddress: 'istiod.istio-system.svc:15012',
          ...(state.includeSslStats ? { proxyStatsMatcher: { inclusionRegexps: ['.*ssl.*', '.*(downstream|upstream)_(cx|rq)_.*'] } } : {}),
        },
      },
      locality: {},
      user_agent_name: 'envoy',
      user_agent_build_version: {
        version: { major_number: 1, minor_number: 30, patch: 5 },
        metadata: { 'revision.sha': LAB_ENVOY_REVISION, 'build.type': 'RELEASE', 'ssl.version': 'BoringSSL', 'revision.status': 'Clean' },
      },
    },
    static_resources: {
      clusters: [
        staticCluster('prometheus_stats', { load_assignment: { cluster_name: 'prometheus_stats', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: ENVOY_ADMIN_PORT } } } }] }] } }),
        staticCluster('agent', { load_assignment: { cluster_name: 'agent', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 15020 } } } }] }] } }),
        staticCluster('sds-grpc', { load_assignment: pipeEndpoint('sds-grpc', './var/run/secrets/workload-spiffe-uds/socket'), typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': T('extensions.upstreams.http.v3.HttpProtocolOptions'), explicit_http_config: { http2_protocol_options: {} } } } }),
        { ...staticCluster('xds-grpc', {}), type: 'STRICT_DNS', load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'istiod.istio-system.svc', port_value: 15012 } } } }] }] }, transport_socket: xdsUpstreamTls(), typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': T('extensions.upstreams.http.v3.HttpProtocolOptions'), explicit_http_config: { http2_protocol_options: {} } } } },
      ],
    },
    dynamic_resources: {
      lds_config: ADS,
      cds_config: ADS,
      ads_config: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: ENVOY_ADMIN_PORT } }, profile_path: '/var/lib/istio/data/envoy.prof' },
    stats_config: {
      use_all_default_tags: false,
      stats_tags: [
        { tag_name: 'cluster_name', regex: '^cluster\\.((.+?(\\..+?\\.svc\\.cluster\\.local)?)\\.)' },
        { tag_name: 'tcp_prefix', regex: '^tcp\\.((.*?)\\.)\\w+?$' },
        { tag_name: 'response_code', regex: '_rq(_(\\d{3}))$' },
        { tag_name: 'response_code_class', regex: '_rq(_(\\dxx))$' },
        { tag_name: 'listener_address', regex: '^listener\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)' },
      ],
      stats_matcher: { inclusion_list: { patterns: inclusionPatterns(state.includeSslStats) } },
    },
  };
}

function routes(input: ConfigDumpInput): Record<string, unknown>[] {
  const bffHost = serviceFqdn(BFF_WORKLOAD.name, BFF_WORKLOAD.namespace);
  const svcHost = serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace);
  const vhost = (host: string): Record<string, unknown> => ({
    name: `${host}:${APP_PORT}`,
    domains: [host, `${host.split('.')[0]}.${host.split('.')[1]}`, host.split('.')[0]].flatMap((d) => [d, `${d}:${APP_PORT}`]),
    routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: outboundCluster(APP_PORT, host), timeout: '0s', retry_policy: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: 2 } } }],
    include_request_attempt_count: true,
  });
  if (input.role === 'gateway') {
    return [{
      '@type': T('config.route.v3.RouteConfiguration'),
      name: GATEWAY_ROUTE_NAME,
      virtual_hosts: [{ name: `${PUBLIC_HOST}:${GATEWAY_HTTPS_PORT}`, domains: [PUBLIC_HOST, `${PUBLIC_HOST}:*`], routes: [{ match: { prefix: '/' }, route: { cluster: outboundCluster(APP_PORT, bffHost), timeout: '0s' }, metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1/namespaces/mesh-verify/virtual-service/bff' } } } }], include_request_attempt_count: true }],
      validate_clusters: false,
    }];
  }
  return [{ '@type': T('config.route.v3.RouteConfiguration'), name: String(APP_PORT), virtual_hosts: [vhost(bffHost), vhost(svcHost), { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: 'PassthroughCluster', timeout: '0s' } }] }], validate_clusters: false }];
}

/** The full /config_dump of one lab proxy, Istio-shaped. */
export function buildConfigDump(input: ConfigDumpInput): { configs: Record<string, unknown>[] } {
  const { proxy, state, role } = input;
  const at = ts(proxy.startedAt);
  const version = ts(proxy.identityUpdatedAt) + '/1';
  const dyn = (cluster: Record<string, unknown>): Record<string, unknown> => ({ version_info: version, cluster, last_updated: at });
  const activeListener = (listener: Record<string, unknown>): Record<string, unknown> => ({ name: listener.name, active_state: { version_info: version, listener, last_updated: at } });
  const clusters: Record<string, unknown>[] = [dyn({ '@type': T('config.cluster.v3.Cluster'), name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: '10s' })];
  if (role !== 'gateway') {
    clusters.push(
      dyn({ '@type': T('config.cluster.v3.Cluster'), name: 'InboundPassthroughClusterIpv4', type: 'ORIGINAL_DST', connect_timeout: '10s', lb_policy: 'CLUSTER_PROVIDED', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } }),
      dyn({ '@type': T('config.cluster.v3.Cluster'), name: 'PassthroughCluster', type: 'ORIGINAL_DST', connect_timeout: '10s', lb_policy: 'CLUSTER_PROVIDED' }),
      dyn({ '@type': T('config.cluster.v3.Cluster'), name: `inbound|${APP_PORT}||`, type: 'ORIGINAL_DST', connect_timeout: '10s', lb_policy: 'CLUSTER_PROVIDED', circuit_breakers: CIRCUIT, upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } }, metadata: { filter_metadata: { istio: { services: [{ host: proxy.serviceHost, name: proxy.workload.name, namespace: proxy.workload.namespace }] } } } }),
    );
  }
  clusters.push(dyn(outboundClusterConfig(BFF_WORKLOAD, state)), dyn(outboundClusterConfig(SVC_WORKLOAD, state)));
  const boot = bootstrap(input);
  const configs: Record<string, unknown>[] = [
    { '@type': T('admin.v3.BootstrapConfigDump'), bootstrap: boot, last_updated: at },
    { '@type': T('admin.v3.ClustersConfigDump'), version_info: version, static_clusters: (boot.static_resources as { clusters: Record<string, unknown>[] }).clusters.map((cluster) => ({ cluster, last_updated: at })), dynamic_active_clusters: clusters },
  ];
  if (input.includeEds) {
    const cla = (w: Workload, ip: string, sidecar: boolean): Record<string, unknown> =>
      dynamicEndpointConfig(outboundCluster(APP_PORT, serviceFqdn(w.name, w.namespace)), [lbEndpoint(ip, APP_PORT, `${w.name};${w.namespace};${w.name};latest;Kubernetes`, sidecar)]);
    configs.push({
      '@type': T('admin.v3.EndpointsConfigDump'),
      static_endpoint_configs: staticEndpointConfigs(),
      dynamic_endpoint_configs: [cla(BFF_WORKLOAD, input.podIps.bff, true), cla(SVC_WORKLOAD, input.podIps.svc, state.svcSidecar)],
    });
  }
  const listeners = role === 'gateway'
    ? [activeListener(gatewayListener())]
    : [activeListener(virtualOutbound()), activeListener(virtualInbound(state.inbound[role])), activeListener(outboundHttpListener())];
  configs.push(
    { '@type': T('admin.v3.ListenersConfigDump'), version_info: version, static_listeners: [{ listener: { ...listenerBase(15090), filter_chains: [{ filters: [hcm('stats', { route_config: { virtual_hosts: [{ name: 'backend', domains: ['*'], routes: [{ match: { prefix: '/stats/prometheus' }, route: { cluster: 'prometheus_stats' } }] }] } })] }] }, last_updated: at }], dynamic_listeners: listeners },
    { '@type': T('admin.v3.ScopedRoutesConfigDump') },
    { '@type': T('admin.v3.RoutesConfigDump'), dynamic_route_configs: routes(input).map((route_config) => ({ version_info: version, route_config, last_updated: at })) },
    { '@type': T('admin.v3.SecretsConfigDump'), dynamic_active_secrets: secrets(input) },
  );
  return { configs };
}

function secrets(input: ConfigDumpInput): Record<string, unknown>[] {
  const { proxy } = input;
  const at = ts(proxy.identityUpdatedAt);
  const version = at;
  const secret = (name: string, body: Record<string, unknown>): Record<string, unknown> => ({ name, version_info: version, last_updated: at, secret: { '@type': T('extensions.transport_sockets.tls.v3.Secret'), name, ...body } });
  const redacted = { inline_bytes: b64('[redacted]') };
  const out = [
    secret('default', { tls_certificate: { certificate_chain: { inline_bytes: b64(proxy.identity.chainPem) }, private_key: redacted } }),
    secret('ROOTCA', { validation_context: { trusted_ca: { inline_bytes: b64(proxy.identity.rootPem) } } }),
  ];
  if (input.role === 'gateway' && input.gatewayCredentialPem) {
    out.push(secret(`kubernetes://${GATEWAY_CREDENTIAL}`, { tls_certificate: { certificate_chain: { inline_bytes: b64(input.gatewayCredentialPem) }, private_key: redacted } }));
  }
  return out;
}
