import type { AccessLogEntry } from './types.js';
import { asRecord } from './json-access.js';

/**
 * Parse one JSON access-log line (keys of ACCESS_LOG_FORMAT, or Istio's default JSON keys, a
 * subset). Prefixes added by `kubectl logs --timestamps` or `--prefix` before the JSON object are
 * tolerated; a line without a JSON object gives null. `-` and empty values become null.
 */
export function parseAccessLogLine(line: string): AccessLogEntry | null {
  const start = line.indexOf('{');
  const end = line.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  let raw: Record<string, unknown>;
  try {
    const parsed = asRecord(JSON.parse(line.slice(start, end + 1)));
    if (!parsed) return null;
    raw = parsed;
  } catch {
    return null;
  }
  const str = (key: string): string | null => {
    const v = raw[key];
    if (v === undefined || v === null) return null;
    const s = typeof v === 'string' ? v : String(v);
    return s === '' || s === '-' ? null : s;
  };
  const code = str('response_code');
  const codeNum = code === null ? NaN : Number(code);
  return {
    requestId: str('request_id'),
    meshVerifyId: str('mesh_verify_id'),
    startTime: str('start_time'),
    method: str('method'),
    path: str('path'),
    authority: str('authority'),
    // Envoy logs 0 when no response was sent.
    responseCode: Number.isFinite(codeNum) ? codeNum : null,
    responseFlags: str('response_flags'),
    upstreamCluster: clusterName(str('upstream_cluster')),
    upstreamHost: str('upstream_host'),
    downstreamLocalAddress: str('downstream_local_address'),
    downstreamRemoteAddress: str('downstream_remote_address'),
    requestedServerName: str('requested_server_name'),
    downstreamPeerUriSan: str('downstream_peer_uri_san'),
    downstreamTlsVersion: str('downstream_tls_version'),
    downstreamPeerCertSha256: str('downstream_peer_cert_sha256'),
    upstreamPeerUriSan: str('upstream_peer_uri_san'),
    upstreamTlsVersion: str('upstream_tls_version'),
    downstreamTlsCipher: str('downstream_tls_cipher'),
    downstreamPeerIssuer: str('downstream_peer_issuer'),
    downstreamPeerSerial: str('downstream_peer_serial'),
    upstreamTlsCipher: str('upstream_tls_cipher'),
    upstreamPeerSubject: str('upstream_peer_subject'),
    upstreamPeerIssuer: str('upstream_peer_issuer'),
    upstreamTransportFailureReason: str('upstream_transport_failure_reason'),
    raw,
  };
}

/**
 * %UPSTREAM_CLUSTER% logs a cluster's alt_stat_name when it has one, and Istio >= 1.23 sets
 * alt_stat_name to `<name>;` on every cluster it builds (so that stat tag extraction can tell the
 * name from the stat; istio pilot/pkg/networking/core/cluster_builder.go at 1.30.3); meshes that
 * log that operator instead of %UPSTREAM_CLUSTER_RAW% give `outbound|8080||bff...local;`.
 */
function clusterName(logged: string | null): string | null {
  if (logged === null || !logged.endsWith(';')) return logged;
  return logged.slice(0, -1) || null;
}
