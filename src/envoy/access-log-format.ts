/**
 * The JSON access-log format mesh-verify configures (fixtures/istio mesh config
 * `accessLogEncoding: JSON` + `accessLogFormat`) and the lab emits. Keys are the JSON field
 * names; values are Envoy command operators. The parser (src/envoy/access-log.ts) reads these
 * keys, and also Istio's default JSON keys, which are a subset.
 */
export const ACCESS_LOG_FORMAT: Record<string, string> = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  request_id: '%REQ(X-REQUEST-ID)%',
  mesh_verify_id: '%REQ(X-MESH-VERIFY-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  route_name: '%ROUTE_NAME%',
  // The cluster's name; %UPSTREAM_CLUSTER% is its alt_stat_name, which Istio >= 1.23 sets to
  // `<name>;` (istio pilot/pkg/networking/core/cluster_builder.go at 1.30.3).
  upstream_cluster: '%UPSTREAM_CLUSTER_RAW%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  downstream_peer_uri_san: '%DOWNSTREAM_PEER_URI_SAN%',
  downstream_local_uri_san: '%DOWNSTREAM_LOCAL_URI_SAN%',
  downstream_tls_version: '%DOWNSTREAM_TLS_VERSION%',
  // What each hop negotiated and with whom (issue 13 §1). Envoy has no %UPSTREAM_PEER_SERIAL%.
  downstream_tls_cipher: '%DOWNSTREAM_TLS_CIPHER%',
  downstream_peer_issuer: '%DOWNSTREAM_PEER_ISSUER%',
  downstream_peer_serial: '%DOWNSTREAM_PEER_SERIAL%',
  downstream_peer_cert_sha256: '%DOWNSTREAM_PEER_FINGERPRINT_256%',
  upstream_peer_uri_san: '%UPSTREAM_PEER_URI_SAN%',
  upstream_tls_version: '%UPSTREAM_TLS_VERSION%',
  upstream_tls_cipher: '%UPSTREAM_TLS_CIPHER%',
  upstream_peer_subject: '%UPSTREAM_PEER_SUBJECT%',
  upstream_peer_issuer: '%UPSTREAM_PEER_ISSUER%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  duration: '%DURATION%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
};

/**
 * The probe also sends its id as x-request-id, but an edge proxy replaces that one: Istio's
 * gateway has use_remote_address true and no preserve_external_request_id (istio
 * pilot/pkg/networking/core/gateway.go at 1.30.3), and since Envoy 1.33 no address is internal
 * unless internal_address_config says so, so every external request is an edge request and gets a
 * new UUID (envoy source/common/http/conn_manager_utility.cc, mutateRequestHeaders).
 */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Our own correlation header: sent on every probe request, forwarded and echoed by the reference
 * app, and logged by ACCESS_LOG_FORMAT as `mesh_verify_id`. No proxy touches it.
 */
export const MESH_VERIFY_ID_HEADER = 'x-mesh-verify-id';
