import { ACCESS_LOG_FORMAT } from '../../envoy/access-log-format.js';

/**
 * What one proxied request looked like, in the terms of Envoy's command operators. Absent
 * values are null: Envoy's JSON formatter writes null where the text format prints `-`;
 * %RESPONSE_FLAGS% prints `-` when there are none.
 */
export interface AccessLogRecord {
  startTime: Date;
  method: string;
  path: string;
  protocol: string;
  responseCode: number;
  responseFlags: string[];
  requestId: string | null;
  /** %REQ(X-MESH-VERIFY-ID)%. */
  meshVerifyId: string | null;
  authority: string | null;
  routeName: string | null;
  upstreamCluster: string | null;
  upstreamHost: string | null;
  upstreamLocalAddress: string | null;
  downstreamLocalAddress: string | null;
  downstreamRemoteAddress: string | null;
  requestedServerName: string | null;
  downstreamPeerUriSan: string | null;
  downstreamLocalUriSan: string | null;
  downstreamTlsVersion: string | null;
  downstreamPeerCertSha256: string | null;
  upstreamPeerUriSan: string | null;
  upstreamTlsVersion: string | null;
  upstreamTransportFailureReason: string | null;
  durationMs: number;
  bytesReceived: number;
  bytesSent: number;
}

const VALUES: Record<string, (r: AccessLogRecord) => string | number | null> = {
  start_time: (r) => r.startTime.toISOString(),
  method: (r) => r.method,
  path: (r) => r.path,
  protocol: (r) => r.protocol,
  response_code: (r) => r.responseCode,
  response_flags: (r) => (r.responseFlags.length ? r.responseFlags.join(',') : '-'),
  request_id: (r) => r.requestId,
  mesh_verify_id: (r) => r.meshVerifyId,
  authority: (r) => r.authority,
  route_name: (r) => r.routeName,
  upstream_cluster: (r) => r.upstreamCluster,
  upstream_host: (r) => r.upstreamHost,
  upstream_local_address: (r) => r.upstreamLocalAddress,
  downstream_local_address: (r) => r.downstreamLocalAddress,
  downstream_remote_address: (r) => r.downstreamRemoteAddress,
  requested_server_name: (r) => r.requestedServerName,
  downstream_peer_uri_san: (r) => r.downstreamPeerUriSan,
  downstream_local_uri_san: (r) => r.downstreamLocalUriSan,
  downstream_tls_version: (r) => r.downstreamTlsVersion,
  downstream_peer_cert_sha256: (r) => r.downstreamPeerCertSha256,
  upstream_peer_uri_san: (r) => r.upstreamPeerUriSan,
  upstream_tls_version: (r) => r.upstreamTlsVersion,
  upstream_transport_failure_reason: (r) => r.upstreamTransportFailureReason,
  duration: (r) => r.durationMs,
  bytes_received: (r) => r.bytesReceived,
  bytes_sent: (r) => r.bytesSent,
};

/** One JSON access-log line with exactly the keys of ACCESS_LOG_FORMAT, in its order. */
export function formatAccessLogLine(record: AccessLogRecord): string {
  const out: Record<string, string | number | null> = {};
  for (const key of Object.keys(ACCESS_LOG_FORMAT)) {
    const value = VALUES[key];
    out[key] = value ? value(record) : null;
  }
  return JSON.stringify(out);
}
