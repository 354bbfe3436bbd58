import { ACCESS_LOG_FORMAT } from '../../envoy/access-log-format.js';
import {
  APP_PORT, BFF_WORKLOAD, GATEWAY_CREDENTIAL, GATEWAY_HTTPS_PORT, GATEWAY_HTTPS_TARGET_PORT, PUBLIC_HOST, SVC_WORKLOAD,
  ENVOY_ADMIN_PORT, ISTIO_INBOUND_PORT, ISTIO_OUTBOUND_PORT, outboundCluster, serviceFqdn, type Workload,
} from '../../topology/reference.js';
import type { MeshState } from '../types.js';
import { dynamicEndpointConfig, lbEndpoint } from './eds.js';
import { inclusionPatterns } from './stats-matcher.js';
import { autoMtlsMatches, gatewayDownstreamTls, istioDownstreamTls, type SdsSource } from './tls.js';

/**
 * The configuration Istio would push to the lab's proxies, as xDS resources for the REAL Envoy.
 * This module is the lab's stand-in for istiod (issue 11 replaces it with real istiod): every
 * setting follows what Istio 1.30 generates for the reference topology, traced to Istio's source
 * (pilot/pkg/networking/core at the pinned release) or to the real dumps in ../shared/reference.
 *
 * Each proxy runs in its pod's own network namespace with Istio's iptables REDIRECT rules
 * (src/lab/pod-network.ts), so the listeners bind what Istio's bind: virtualOutbound 0.0.0.0:15001
 * and virtualInbound 0.0.0.0:15006 (original_dst), the outbound HTTP listener 0.0.0.0_8080 without
 * binding (bind_to_port false), the inbound cluster ORIGINAL_DST from 127.0.0.6, admin on
 * 127.0.0.1:15000. Where the lab still differs from Istio:
 * - the Istio-only filters (istio.metadata_exchange, istio.stats, istio.alpn) are not in upstream
 *   Envoy: istio.alpn's ALPN override (`istio-http/1.1`, which selects the inbound HTTP chain) is
 *   set with upstream Envoy's set_filter_state filter instead; there is no istio_requests_total;
 * - every listener keeps the stat name of Istio's address (`stat_prefix` 0.0.0.0_<port>);
 * - the configuration arrives as watched files, not over ADS from istiod.
 */

export type LabRole = 'gateway' | 'bff' | 'svc';

/** The lab's addresses: the NLB's (a loopback address of the node), each pod's IP (kwok's) and svc's ClusterIP. */
export interface LabAddresses {
  nlb: string;
  gateway: string;
  bff: string;
  svc: string;
  caller: string;
  /** svc's ClusterIP (the API's): what the bff app dials, captured into bff's sidecar by iptables. */
  svcVip: string;
}

export interface ProxyShapeInput {
  role: LabRole;
  workload: Workload;
  podName: string;
  labels: Record<string, string>;
  state: MeshState;
  addresses: LabAddresses;
  /** Where this proxy writes its access log (Istio: /dev/stdout). */
  accessLogPath: string;
  /** Where each xDS resource file lives (path_config_source), by resource. */
  files: XdsFiles;
  istioVersion: string;
}

/** Paths of the watched files that deliver each dynamic resource. */
export interface XdsFiles {
  lds: string;
  cds: string;
  /** RDS file per route configuration name. */
  rds(routeName: string): string;
  /** EDS file per cluster. */
  eds(clusterName: string): string;
  /** SDS file per secret name. */
  sds(secretName: string): string;
}

const T = (name: string): string => `type.googleapis.com/envoy.${name}`;

/** A path_config_source in the watched directory of `path` (Envoy re-reads it on a rename into place). */
export function fileSource(path: string): Record<string, unknown> {
  const dir = path.slice(0, path.lastIndexOf('/'));
  return { path_config_source: { path, watched_directory: { path: dir } }, resource_api_version: 'V3' };
}

function sdsFrom(files: XdsFiles): SdsSource {
  return (name) => ({ ...fileSource(files.sds(name)), initial_fetch_timeout: '0s' });
}

const listenerStatName = (port: number): string => `0.0.0.0_${port}`;

/** A Listener bound to address:port whose stats keep Istio's name (`listener.0.0.0.0_<port>.*`). */
function listenerAt(name: string, address: string, port: number): Record<string, unknown> {
  return { '@type': T('config.listener.v3.Listener'), name, address: socket(address, port), stat_prefix: listenerStatName(port) };
}

const ANY = '0.0.0.0';

function socket(address: string, port: number): Record<string, unknown> {
  return { socket_address: { address, port_value: port } };
}

function accessLog(path: string): Record<string, unknown>[] {
  return [{
    name: 'envoy.access_loggers.file',
    typed_config: { '@type': T('extensions.access_loggers.file.v3.FileAccessLog'), path, log_format: { json_format: ACCESS_LOG_FORMAT } },
  }];
}

/** istio.alpn's override for HTTP/1.1 (istio pilot/pkg/networking/core/listener_builder.go, xdsfilters.Alpn). */
const ALPN_OVERRIDE = {
  name: 'lab.istio_alpn',
  typed_config: {
    '@type': T('extensions.filters.http.set_filter_state.v3.Config'),
    on_request_headers: [{
      object_key: 'envoy.network.application_protocols',
      format_string: { text_format_source: { inline_string: 'istio-http/1.1' } },
      shared_with_upstream: 'ONCE',
    }],
  },
};

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': T('extensions.filters.http.router.v3.Router') } };

function hcm(input: ProxyShapeInput, statPrefix: string, route: Record<string, unknown>, extra: Record<string, unknown>, outbound: boolean): Record<string, unknown> {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': T('extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
      stat_prefix: statPrefix,
      ...route,
      http_filters: outbound ? [ALPN_OVERRIDE, ROUTER] : [ROUTER],
      access_log: accessLog(input.accessLogPath),
      use_remote_address: false,
      normalize_path: true,
      path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
      request_id_extension: { typed_config: { '@type': T('extensions.request_id.uuid.v3.UuidRequestIdConfig'), use_request_id_for_trace_sampling: true } },
      ...extra,
    },
  };
}

function rds(input: ProxyShapeInput, name: string): Record<string, unknown> {
  return { rds: { config_source: { ...fileSource(input.files.rds(name)), initial_fetch_timeout: '0s' }, route_config_name: name } };
}

function tcpProxy(input: ProxyShapeInput, cluster: string): Record<string, unknown> {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': T('extensions.filters.network.tcp_proxy.v3.TcpProxy'), stat_prefix: cluster, cluster, access_log: accessLog(input.accessLogPath) },
  };
}

const ALL_V4 = [{ address_prefix: '0.0.0.0', prefix_len: 0 }];
const HTTP_TLS_ALPN = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
const INBOUND_CLUSTER = `inbound|${APP_PORT}||`;
const PASSTHROUGH_IN = 'InboundPassthroughClusterIpv4';

function inboundHcm(input: ProxyShapeInput): Record<string, unknown> {
  return hcm(input, `inbound_0.0.0.0_${APP_PORT}`, {
    route_config: {
      name: INBOUND_CLUSTER,
      virtual_hosts: [{ name: `inbound|http|${APP_PORT}`, domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: INBOUND_CLUSTER, timeout: '0s', max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' } }, decorator: { operation: `:${APP_PORT}/*` } }] }],
      validate_clusters: false,
    },
  }, { forward_client_cert_details: 'APPEND_FORWARD', set_current_client_cert_details: { subject: true, dns: true, uri: true } }, false);
}

/**
 * virtualInbound (istio pilot/pkg/networking/core/listener_inbound.go): a blackhole chain for
 * the capture port itself, passthrough chains, and per port (8080) an HTTP chain for Istio's
 * mTLS ALPNs and a TCP chain for istio-peer-exchange; the raw_buffer (plaintext) chains exist
 * only in PERMISSIVE mode.
 */
function virtualInbound(input: ProxyShapeInput, mode: 'STRICT' | 'PERMISSIVE'): Record<string, unknown> {
  const permissive = mode === 'PERMISSIVE';
  const sds = sdsFrom(input.files);
  const chains: Record<string, unknown>[] = [
    { name: 'virtualInbound-blackhole', filter_chain_match: { destination_port: ISTIO_INBOUND_PORT }, filters: [tcpProxy(input, 'BlackHoleCluster')] },
    { name: 'virtualInbound', filter_chain_match: { prefix_ranges: ALL_V4, transport_protocol: 'tls' }, transport_socket: istioDownstreamTls(['istio-peer-exchange', 'h2', 'http/1.1'], sds, input.state.meshMtlsTls, input.state.envoyFilterTls[input.role as 'bff' | 'svc'].listener), filters: [tcpProxy(input, PASSTHROUGH_IN)] },
  ];
  if (permissive) chains.push({ name: 'virtualInbound', filter_chain_match: { prefix_ranges: ALL_V4, transport_protocol: 'raw_buffer' }, filters: [tcpProxy(input, PASSTHROUGH_IN)] });
  const name = listenerStatName(APP_PORT);
  chains.push({ name, filter_chain_match: { destination_port: APP_PORT, transport_protocol: 'tls', application_protocols: HTTP_TLS_ALPN }, transport_socket: istioDownstreamTls(['h2', 'http/1.1'], sds, input.state.meshMtlsTls, input.state.envoyFilterTls[input.role as 'bff' | 'svc'].listener), filters: [inboundHcm(input)] });
  if (permissive) chains.push({ name, filter_chain_match: { destination_port: APP_PORT, transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }, filters: [inboundHcm(input)] });
  chains.push({ name, filter_chain_match: { destination_port: APP_PORT, transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] }, transport_socket: istioDownstreamTls(['istio-peer-exchange', 'h2', 'http/1.1'], sds, input.state.meshMtlsTls, input.state.envoyFilterTls[input.role as 'bff' | 'svc'].listener), filters: [tcpProxy(input, INBOUND_CLUSTER)] });
  if (permissive) chains.push({ name, filter_chain_match: { destination_port: APP_PORT, transport_protocol: 'raw_buffer' }, filters: [tcpProxy(input, INBOUND_CLUSTER)] });
  return {
    ...listenerAt('virtualInbound', ANY, ISTIO_INBOUND_PORT),
    filter_chains: chains,
    listener_filters: [
      { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': T('extensions.filters.listener.original_dst.v3.OriginalDst') } },
      { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': T('extensions.filters.listener.tls_inspector.v3.TlsInspector') } },
      { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': T('extensions.filters.listener.http_inspector.v3.HttpInspector') } },
    ],
    listener_filters_timeout: '0s',
    traffic_direction: 'INBOUND',
    continue_on_listener_filters_timeout: true,
    access_log: accessLog(input.accessLogPath),
  };
}

function virtualOutbound(input: ProxyShapeInput): Record<string, unknown> {
  return {
    ...listenerAt('virtualOutbound', ANY, ISTIO_OUTBOUND_PORT),
    filter_chains: [
      { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: ISTIO_OUTBOUND_PORT }, filters: [tcpProxy(input, 'BlackHoleCluster')] },
      { name: 'virtualOutbound-catchall-tcp', filters: [tcpProxy(input, 'PassthroughCluster')] },
    ],
    use_original_dst: true,
    traffic_direction: 'OUTBOUND',
    access_log: accessLog(input.accessLogPath),
  };
}

/** The outbound HTTP listener for port 8080 (istio listener_builder.go buildSidecarOutboundListeners). */
function outboundHttpListener(input: ProxyShapeInput): Record<string, unknown> {
  const name = listenerStatName(APP_PORT);
  return {
    ...listenerAt(name, ANY, APP_PORT),
    // Reached from virtualOutbound (use_original_dst), as in Istio.
    bind_to_port: false,
    filter_chains: [{
      filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] },
      filters: [hcm(input, `outbound_0.0.0.0_${APP_PORT}`, rds(input, String(APP_PORT)), {}, true)],
      name,
    }],
    default_filter_chain: { filters: [tcpProxy(input, 'PassthroughCluster')], name: 'PassthroughFilterChain' },
    listener_filters: [
      { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': T('extensions.filters.listener.tls_inspector.v3.TlsInspector') } },
      { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': T('extensions.filters.listener.http_inspector.v3.HttpInspector') } },
    ],
    listener_filters_timeout: '0s',
    continue_on_listener_filters_timeout: true,
    traffic_direction: 'OUTBOUND',
  };
}

export const GATEWAY_ROUTE_NAME = `https.${GATEWAY_HTTPS_PORT}.https.mesh-verify-gateway.istio-system`;

/**
 * The gateway's HTTPS server (istio pilot/pkg/networking/core/gateway.go): SNI filter chain with
 * the credentialName secret over SDS, use_remote_address true, XFCC SANITIZE_SET, no
 * preserve_external_request_id (so x-request-id is regenerated at the edge).
 */
function gatewayListener(input: ProxyShapeInput): Record<string, unknown> {
  const name = listenerStatName(GATEWAY_HTTPS_TARGET_PORT);
  return {
    ...listenerAt(name, ANY, GATEWAY_HTTPS_TARGET_PORT),
    filter_chains: [{
      filter_chain_match: { server_names: [PUBLIC_HOST] },
      filters: [hcm(input, `outbound_0.0.0.0_${GATEWAY_HTTPS_TARGET_PORT}`, rds(input, GATEWAY_ROUTE_NAME), { forward_client_cert_details: 'SANITIZE_SET', use_remote_address: true }, true)],
      transport_socket: gatewayDownstreamTls(GATEWAY_CREDENTIAL, sdsFrom(input.files), input.state.gatewayTls, input.state.envoyFilterTls.gateway.listener),
      name: `${name}-${PUBLIC_HOST}`,
    }],
    listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': T('extensions.filters.listener.tls_inspector.v3.TlsInspector') } }],
    traffic_direction: 'OUTBOUND',
  };
}

const CIRCUIT = { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }] };

/** An outbound EDS cluster (istio cluster_builder.go): alt_stat_name `name;`, auto mTLS socket matches. */
function outboundClusterConfig(input: ProxyShapeInput, workload: Workload): Record<string, unknown> {
  const host = serviceFqdn(workload.name, workload.namespace);
  const name = outboundCluster(APP_PORT, host);
  const istio: Record<string, unknown> = { services: [{ host, name: workload.name, namespace: workload.namespace }] };
  const cluster: Record<string, unknown> = {
    '@type': T('config.cluster.v3.Cluster'),
    name,
    alt_stat_name: `${name};`,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ...fileSource(input.files.eds(name)), initial_fetch_timeout: '0s' }, service_name: name },
    connect_timeout: '10s',
    lb_policy: 'LEAST_REQUEST',
    circuit_breakers: CIRCUIT,
    metadata: { filter_metadata: { istio } },
    common_lb_config: { locality_weighted_lb_config: {} },
  };
  // A DestinationRule with tls.mode DISABLE (plaintext-gateway-bff) removes auto mTLS from the cluster.
  const disabled = workload.id === BFF_WORKLOAD.id && input.state.gatewayToBff === 'plaintext';
  if (disabled) istio.config = `/apis/networking.istio.io/v1/namespaces/${workload.namespace}/destination-rule/${workload.name}`;
  else {
    const patches = input.state.envoyFilterTls[input.role].clusters.filter((c) => c.host === host).map((c) => c.patch);
    cluster.transport_socket_matches = autoMtlsMatches(APP_PORT, host, workload.spiffeId, sdsFrom(input.files), patches);
  }
  return cluster;
}

function staticLoad(name: string, address: string, port: number): Record<string, unknown> {
  return { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(address, port) } }] }] };
}

/** CDS of one proxy. */
export function clusters(input: ProxyShapeInput): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [{ '@type': T('config.cluster.v3.Cluster'), name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: '10s' }];
  if (input.role !== 'gateway') {
    out.push(
      { '@type': T('config.cluster.v3.Cluster'), name: PASSTHROUGH_IN, type: 'ORIGINAL_DST', connect_timeout: '10s', lb_policy: 'CLUSTER_PROVIDED', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } },
      { '@type': T('config.cluster.v3.Cluster'), name: 'PassthroughCluster', type: 'ORIGINAL_DST', connect_timeout: '10s', lb_policy: 'CLUSTER_PROVIDED' },
      {
        // The app is reached at the connection's original destination (podIP:8080), from 127.0.0.6.
        '@type': T('config.cluster.v3.Cluster'), name: INBOUND_CLUSTER, alt_stat_name: `${INBOUND_CLUSTER};`, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '10s', circuit_breakers: CIRCUIT,
        upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } },
        metadata: { filter_metadata: { istio: { services: [{ host: serviceFqdn(input.workload.name, input.workload.namespace), name: input.workload.name, namespace: input.workload.namespace }] } } },
      },
    );
  }
  out.push(outboundClusterConfig(input, BFF_WORKLOAD), outboundClusterConfig(input, SVC_WORKLOAD));
  return out;
}

/** EDS of one proxy: cluster name -> ClusterLoadAssignment; the tlsMode-istio label only on pods with a sidecar. */
export function endpoints(input: ProxyShapeInput): Record<string, Record<string, unknown>> {
  const cla = (w: Workload, ip: string, sidecar: boolean): [string, Record<string, unknown>] => {
    const name = outboundCluster(APP_PORT, serviceFqdn(w.name, w.namespace));
    return [name, dynamicEndpointConfig(name, [lbEndpoint(ip, APP_PORT, `${w.name};${w.namespace};${w.name};latest;Kubernetes`, sidecar)]).endpoint_config as Record<string, unknown>];
  };
  return Object.fromEntries([cla(BFF_WORKLOAD, input.addresses.bff, true), cla(SVC_WORKLOAD, input.addresses.svc, input.state.svcSidecar)]);
}

/** LDS of one proxy. */
export function listeners(input: ProxyShapeInput): Record<string, unknown>[] {
  if (input.role === 'gateway') return [gatewayListener(input)];
  return [virtualOutbound(input), virtualInbound(input, input.state.inbound[input.role]), outboundHttpListener(input)];
}

/** RDS of one proxy: route configuration name -> RouteConfiguration. */
export function routes(input: ProxyShapeInput): Record<string, Record<string, unknown>> {
  const bffHost = serviceFqdn(BFF_WORKLOAD.name, BFF_WORKLOAD.namespace);
  const svcHost = serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace);
  if (input.role === 'gateway') {
    return {
      [GATEWAY_ROUTE_NAME]: {
        '@type': T('config.route.v3.RouteConfiguration'),
        name: GATEWAY_ROUTE_NAME,
        virtual_hosts: [{ name: `${PUBLIC_HOST}:${GATEWAY_HTTPS_PORT}`, domains: [PUBLIC_HOST, `${PUBLIC_HOST}:*`], routes: [{ match: { prefix: '/' }, route: { cluster: outboundCluster(APP_PORT, bffHost), timeout: '0s' }, metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1/namespaces/mesh-verify/virtual-service/bff' } } } }], include_request_attempt_count: true }],
        validate_clusters: false,
      },
    };
  }
  // Istio's outbound vhosts list the FQDN, short names and the ClusterIP, each with and without the port.
  const vhost = (host: string, vip: string | null): Record<string, unknown> => ({
    name: `${host}:${APP_PORT}`,
    domains: [host, `${host.split('.')[0]}.${host.split('.')[1]}`, host.split('.')[0], ...(vip ? [vip] : [])].flatMap((d) => [d, `${d}:${APP_PORT}`]),
    routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: outboundCluster(APP_PORT, host), timeout: '0s', retry_policy: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: 2 } } }],
    include_request_attempt_count: true,
  });
  const name = String(APP_PORT);
  return {
    [name]: {
      '@type': T('config.route.v3.RouteConfiguration'), name,
      virtual_hosts: [vhost(bffHost, null), vhost(svcHost, input.addresses.svcVip), { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: 'PassthroughCluster', timeout: '0s' } }] }],
      validate_clusters: false,
    },
  };
}

/** The Istio proxy bootstrap (istio tools/packaging/common/envoy_bootstrap.json), with file-based xDS. */
export function bootstrap(input: ProxyShapeInput, adminAddress = '127.0.0.1'): Record<string, unknown> {
  const w = input.workload;
  const podIp = input.addresses[input.role];
  return {
    node: {
      id: `${input.role === 'gateway' ? 'router' : 'sidecar'}~${podIp}~${input.podName}.${w.namespace}~${w.namespace}.svc.cluster.local`,
      cluster: `${w.name}.${w.namespace}`,
      metadata: {
        ISTIO_VERSION: input.istioVersion,
        LABELS: input.labels,
        NAMESPACE: w.namespace,
        SERVICE_ACCOUNT: w.serviceAccount,
        WORKLOAD_NAME: w.name,
        NAME: input.podName,
        OWNER: `kubernetes://apis/apps/v1/namespaces/${w.namespace}/deployments/${w.name}`,
        INSTANCE_IPS: podIp,
        CLUSTER_ID: 'Kubernetes',
        MESH_ID: 'cluster.local',
        INTERCEPTION_MODE: 'REDIRECT',
        ENVOY_STATUS_PORT: 15021,
        ENVOY_PROMETHEUS_PORT: 15090,
        ...(input.role !== 'gateway' ? { APP_CONTAINERS: w.name, POD_PORTS: JSON.stringify([{ containerPort: APP_PORT, protocol: 'TCP' }]) } : {}),
        PROXY_CONFIG: {
          ...(input.state.includeSslStats ? { proxyStatsMatcher: { inclusionRegexps: ['.*ssl.*', '.*(downstream|upstream)_(cx|rq)_.*'] } } : {}),
        },
      },
    },
    static_resources: {
      listeners: [{
        name: listenerStatName(15090),
        address: socket(ANY, 15090),
        stat_prefix: listenerStatName(15090),
        filter_chains: [{ filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': T('extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
            stat_prefix: 'stats',
            route_config: { virtual_hosts: [{ name: 'backend', domains: ['*'], routes: [{ match: { prefix: '/stats/prometheus' }, route: { cluster: 'prometheus_stats' } }] }] },
            http_filters: [ROUTER],
          },
        }] }],
      }],
      clusters: [{ name: 'prometheus_stats', type: 'STATIC', connect_timeout: '0.250s', load_assignment: staticLoad('prometheus_stats', adminAddress, ENVOY_ADMIN_PORT) }],
    },
    dynamic_resources: { lds_config: fileSource(input.files.lds), cds_config: fileSource(input.files.cds) },
    admin: { address: socket(adminAddress, ENVOY_ADMIN_PORT) },
    stats_config: {
      use_all_default_tags: false,
      stats_tags: [
        { tag_name: 'cluster_name', regex: '^cluster\\.((.+?(\\..+?\\.svc\\.cluster\\.local)?)\\.)' },
        { tag_name: 'tcp_prefix', regex: '^tcp\\.((.*?)\\.)\\w+?$' },
        { tag_name: 'response_code', regex: '_rq(_(\\d{3}))$' },
        { tag_name: 'response_code_class', regex: '_rq(_(\\dxx))$' },
        { tag_name: 'listener_address', regex: '^listener\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)' },
      ],
      stats_matcher: { inclusion_list: { patterns: inclusionPatterns(input.state.includeSslStats) } },
    },
  };
}

const bytes = (pem: string): { inline_bytes: string } => ({ inline_bytes: Buffer.from(pem, 'utf8').toString('base64') });

/**
 * An SDS Secret resource (`default` / `ROOTCA` / `kubernetes://<credentialName>`), with the PEMs as
 * `inline_bytes` as istio-agent sends them (istio security/pkg/nodeagent/sds/sdsservice.go) and as
 * real Istio dumps show them.
 */
export function tlsSecret(name: string, chainPem: string, keyPem: string): Record<string, unknown> {
  return { '@type': T('extensions.transport_sockets.tls.v3.Secret'), name, tls_certificate: { certificate_chain: bytes(chainPem), private_key: bytes(keyPem) } };
}

export function rootSecret(rootPem: string): Record<string, unknown> {
  return { '@type': T('extensions.transport_sockets.tls.v3.Secret'), name: 'ROOTCA', validation_context: { trusted_ca: bytes(rootPem) } };
}
