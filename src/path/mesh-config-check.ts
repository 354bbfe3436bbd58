import { ACCESS_LOG_FORMAT } from '../envoy/access-log-format.js';

/** The access-log keys the analyzer needs for request- and identity-level evidence. */
const NEEDED_LOG_KEYS = ['request_id', 'downstream_peer_uri_san', 'downstream_tls_version', 'upstream_peer_uri_san', 'upstream_tls_version'];

/**
 * What an existing Istio's mesh config (ConfigMap istio-system/istio, key `mesh`) lacks for the
 * evidence mesh-verify reads: each gap is one sentence naming the evidence that will be missing.
 * Pure: the caller reads the ConfigMap. Missing evidence makes hops inconclusive, never proven.
 */
export function meshConfigGaps(mesh: unknown): string[] {
  const m = (mesh && typeof mesh === 'object' ? mesh : {}) as Record<string, unknown>;
  const gaps: string[] = [];
  const file = typeof m.accessLogFile === 'string' ? m.accessLogFile : '';
  if (!file) {
    gaps.push('access logging is off (meshConfig.accessLogFile is empty): no request-level evidence from access logs');
  } else {
    const format = typeof m.accessLogFormat === 'string' ? m.accessLogFormat : '';
    const missing = NEEDED_LOG_KEYS.filter((k) => !format.includes(ACCESS_LOG_FORMAT[k]));
    if (m.accessLogEncoding !== 'JSON') {
      gaps.push(`access logs are not JSON (meshConfig.accessLogEncoding ${String(m.accessLogEncoding ?? 'TEXT')}): mesh-verify cannot read them`);
    } else if (missing.length > 0) {
      gaps.push(`the access-log format lacks ${missing.map((k) => ACCESS_LOG_FORMAT[k]).join(', ')}: fewer request and identity facts per hop`);
    }
  }
  const dc = (m.defaultConfig && typeof m.defaultConfig === 'object' ? m.defaultConfig : {}) as Record<string, unknown>;
  const psm = (dc.proxyStatsMatcher && typeof dc.proxyStatsMatcher === 'object' ? dc.proxyStatsMatcher : {}) as Record<string, unknown>;
  const patterns = ['inclusionRegexps', 'inclusionPrefixes', 'inclusionSuffixes']
    .flatMap((k) => (Array.isArray(psm[k]) ? (psm[k] as unknown[]) : []))
    .map(String);
  if (!patterns.some((p) => p.includes('ssl'))) {
    gaps.push('proxyStatsMatcher does not include ssl.* stats (Istio\'s default): no handshake counters as traffic evidence');
  }
  return gaps;
}
