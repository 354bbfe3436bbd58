import type { Protection } from '../bundle/types.js';
import type { StatsSnapshot } from '../envoy/types.js';
import { statDelta } from '../envoy/stats.js';
import { CONTROL_PLANE_CLUSTERS } from '../envoy/cluster-tls.js';
import type { Observation } from './observation.js';
import type { ProxyFacts } from './proxy-facts.js';

/**
 * Traffic-level evidence from /stats taken before and after the run's requests.
 *
 * What the counters can and cannot say:
 *  - Istio's default proxyStatsMatcher creates no data-plane `ssl.*` stats: their absence is
 *    never plaintext, and such a run cannot be proven on traffic grounds;
 *  - `cluster.xds-grpc.ssl.*` (and other control-plane clusters) is the proxy talking to istiod,
 *    never data-plane evidence;
 *  - connections are pooled: N requests may open 0 new connections and make 0 new handshakes.
 *    Only new connections without handshakes (or the `tlsMode-disabled` socket match) show plaintext.
 */

const SSL_FAILURES = ['ssl.connection_error', 'ssl.fail_verify_error', 'ssl.fail_verify_san', 'ssl.fail_verify_no_cert'];

function isControlPlaneStat(name: string): boolean {
  const m = /^cluster\.([^.]+)\./.exec(name);
  return m !== null && CONTROL_PLANE_CLUSTERS.has(m[1]);
}

/** Any data-plane `ssl.*` stat (listener or cluster), control-plane clusters excluded. */
export function hasDataPlaneSslStats(stats: StatsSnapshot): boolean {
  for (const name of stats.keys()) {
    if (name.includes('.ssl.') && (name.startsWith('cluster.') || name.startsWith('listener.')) && !isControlPlaneStat(name)) return true;
  }
  return false;
}

function sslAbsent(p: ProxyFacts, subject: string, after: StatsSnapshot): Observation {
  const xds = after.get('cluster.xds-grpc.ssl.handshake');
  const xdsNote = xds === undefined ? '' : ` cluster.xds-grpc.ssl.handshake=${xds} is the proxy's control-plane connection to istiod and is ignored.`;
  return {
    level: 'traffic', proxy: p.id, source: 'stats', subject, indicates: null,
    observed: 'ssl stats not present (proxyStatsMatcher)',
    note: `Istio's default stats inclusion creates no data-plane ssl.* stats, so their absence is not plaintext; add them with proxyStatsMatcher to get traffic evidence.${xdsNote}`,
    headline: `ssl stats not present on ${p.id} (proxyStatsMatcher)`,
  };
}

function snapshots(p: ProxyFacts): { before: StatsSnapshot; after: StatsSnapshot } | null {
  return p.statsBefore && p.statsAfter ? { before: p.statsBefore, after: p.statsAfter } : null;
}

function notCaptured(p: ProxyFacts, subject: string): Observation {
  return { level: 'traffic', proxy: p.id, source: 'stats', subject, indicates: null, observed: 'stats not captured before and after the run' };
}

/**
 * Istio may end a cluster's stat name with `;` (`cluster.outbound|8080||bff...local;.ssl.handshake`,
 * so that tag extraction can tell the name from the stat); accept both spellings.
 */
function clusterStatPrefix(after: Map<string, number>, cluster: string): string {
  const withSemicolon = `cluster.${cluster};.`;
  for (const name of after.keys()) if (name.startsWith(withSemicolon)) return withSemicolon;
  return `cluster.${cluster}.`;
}

/** New upstream connections of a cluster during the run (`upstream_cx_total` delta), or null. */
export function clusterNewConnections(p: ProxyFacts, cluster: string): number | null {
  const s = snapshots(p);
  if (!s) return null;
  return statDelta(s.before, s.after, `${clusterStatPrefix(s.after, cluster)}upstream_cx_total`);
}

/**
 * Upstream cluster counters (`cluster.<name>.*` or `cluster.<name>;.*`). `handshakeMeans` is what a new handshake on
 * this cluster shows (mtls when the cluster presents a client certificate).
 */
export function upstreamClusterTraffic(p: ProxyFacts, cluster: string, handshakeMeans: Protection): Observation[] {
  const s = snapshots(p);
  if (!s) return [notCaptured(p, `cluster.${cluster}.*`)];
  const prefix = clusterStatPrefix(s.after, cluster);
  const names = [...s.after.keys()].filter((n) => n.startsWith(prefix));
  if (names.length === 0) {
    if (!hasDataPlaneSslStats(s.after)) return [sslAbsent(p, `${prefix}ssl.*`, s.after)];
    return [{ level: 'traffic', proxy: p.id, source: 'stats', subject: `${prefix}*`, observed: 'no stats for this cluster', indicates: null }];
  }
  const d = (name: string): number | null => statDelta(s.before, s.after, prefix + name);
  const out: Observation[] = [];
  const base = { level: 'traffic' as const, proxy: p.id, source: 'stats' };
  const hs = d('ssl.handshake');
  const cx = d('upstream_cx_total');
  const rq = d('upstream_rq_total');
  const disabled = d('tlsMode-disabled.total_match_count');
  const istio = d('tlsMode-istio.total_match_count');
  const failures = SSL_FAILURES.map((n) => [n, d(n) ?? 0] as const).filter(([, v]) => v > 0);
  const counts = `upstream_rq_total +${rq ?? '?'}, upstream_cx_total +${cx ?? '?'}`;
  if (disabled !== null && disabled > 0) {
    out.push({ ...base, subject: `${prefix}tlsMode-disabled.total_match_count`, observed: `+${disabled}`, indicates: 'plaintext',
      note: 'connections matched the raw_buffer (plaintext) transport socket: the endpoint has no tlsMode=istio label',
      headline: `${disabled} connection(s) of ${p.id} used the plaintext socket match`});
  }
  if (istio !== null && istio > 0) {
    // A match is an attempt: with failed handshakes it shows intent, not protection.
    out.push({ ...base, subject: `${prefix}tlsMode-istio.total_match_count`, observed: `+${istio}`, indicates: failures.length > 0 ? null : handshakeMeans,
      headline: `${istio} connection(s) of ${p.id} used the Istio mTLS socket` });
  }
  if (hs !== null) {
    if (hs > 0) {
      out.push({ ...base, subject: `${prefix}ssl.handshake`, observed: `+${hs} (${counts})`, indicates: handshakeMeans,
        headline: `${hs} new TLS handshake(s) on ${p.id}` });
    } else if (failures.length > 0) {
      out.push({ ...base, subject: `${prefix}${failures[0][0]}`, observed: failures.map(([n, v]) => `${n} +${v}`).join(', '), effect: 'contradicts',
        note: 'TLS handshakes failed: no protected connection was established', headline: `TLS handshakes failed on ${p.id} (${failures[0][0]})` });
    } else if (cx !== null && cx > 0) {
      // New connections without handshakes: plaintext (already named when tlsMode-disabled matched).
      if (!(disabled !== null && disabled > 0)) out.push({ ...base, subject: `${prefix}ssl.handshake`, observed: `+0 with ${cx} new connection(s)`, indicates: 'plaintext',
        note: 'new upstream connections were opened without a TLS handshake', headline: `${cx} new connection(s) of ${p.id} without a TLS handshake` });
    } else if (rq !== null && rq > 0) {
      out.push({ ...base, subject: `${prefix}ssl.handshake`, observed: `+0 (${counts})`, indicates: null,
        note: 'pooled connections: the requests reused connections opened before the run, so 0 new handshakes is expected and not a contradiction' });
    }
  } else if (names.length > 0) {
    out.push({ ...base, subject: `${prefix}ssl.*`, observed: `not present (${counts})`, indicates: null,
      note: 'no ssl.* stats under this cluster: either it has no TLS socket or proxyStatsMatcher leaves them out; absence is not plaintext' });
  }
  return out;
}

/** Stat name of a sidecar's virtualInbound listener (0.0.0.0:15006): stats are named after the address. */
export const VIRTUAL_INBOUND_STATS = '0.0.0.0_15006';

/**
 * The receiving sidecar's inbound listener (virtualInbound, stats `listener.0.0.0.0_15006.*`):
 * its mTLS handshakes during the run. Envoy creates a listener's ssl.* stats only when one of its
 * filter chains has a TLS context, so their absence says nothing by itself. The listener serves
 * every caller of the proxy: a handshake supports the hop only when the caller opened new
 * connections on the hop's cluster during the run (`callerNewConnections`); plaintext
 * connections there may be another caller's, so they never count against this run's requests.
 */
export function inboundListenerTraffic(p: ProxyFacts, listener: string, callerNewConnections: number | null): Observation[] {
  const prefix = `listener.${listener}.`;
  const s = snapshots(p);
  if (!s) return [];
  const hs = statDelta(s.before, s.after, `${prefix}ssl.handshake`);
  const cx = statDelta(s.before, s.after, `${prefix}downstream_cx_total`);
  const base = { level: 'traffic' as const, proxy: p.id, source: 'stats', subject: `${prefix}ssl.handshake` };
  if (hs === null) {
    return [{ ...base, observed: 'not present', indicates: null,
      note: 'Envoy creates listener ssl.* stats only for listeners with a TLS context, and proxyStatsMatcher may drop them: absence is not plaintext' }];
  }
  const failures = SSL_FAILURES.map((n) => [n, statDelta(s.before, s.after, prefix + n) ?? 0] as const).filter(([, v]) => v > 0);
  const failed = failures.length > 0 ? `; ${failures.map(([n, v]) => `${n} +${v}`).join(', ')}` : '';
  const counts = `+${hs} (downstream_cx_total +${cx ?? '?'}${failed})`;
  if (hs > 0 && callerNewConnections !== null && callerNewConnections > 0) {
    return [{ ...base, observed: counts, indicates: 'mtls', note: 'mTLS handshakes received while the caller opened new connections to this hop' }];
  }
  return [{ ...base, observed: counts, indicates: null,
    note: hs > 0
      ? 'handshakes received, but the caller opened no new connection to this hop during the run: they may be other callers'
      : 'no new mTLS connection during the run (pooled connections, or connections of other callers)' }];
}

/** Downstream listener counters (`listener.<address>.*`, e.g. listener.0.0.0.0_8443.ssl.handshake). */
export function listenerTraffic(p: ProxyFacts, listener: string): Observation[] {
  const prefix = `listener.${listener}.`;
  const s = snapshots(p);
  if (!s) return [notCaptured(p, `${prefix}*`)];
  const hs = statDelta(s.before, s.after, `${prefix}ssl.handshake`);
  const cx = statDelta(s.before, s.after, `${prefix}downstream_cx_total`);
  const base = { level: 'traffic' as const, proxy: p.id, source: 'stats' };
  if (hs === null) {
    if (!hasDataPlaneSslStats(s.after)) return [sslAbsent(p, `${prefix}ssl.*`, s.after)];
    return [{ ...base, subject: `${prefix}ssl.handshake`, observed: 'not present', indicates: null, note: 'absence is not plaintext' }];
  }
  if (hs > 0) return [{ ...base, subject: `${prefix}ssl.handshake`, observed: `+${hs} (downstream_cx_total +${cx ?? '?'})`, indicates: 'tls', headline: `${hs} TLS handshake(s) on ${p.id} listener ${listener}` }];
  if (cx !== null && cx > 0) {
    return [{ ...base, subject: `${prefix}ssl.handshake`, observed: `+0 with ${cx} new connection(s)`, indicates: 'plaintext', headline: `${cx} connection(s) to ${p.id} listener ${listener} without a TLS handshake` }];
  }
  return [{ ...base, subject: `${prefix}ssl.handshake`, observed: '+0 (no new connections)', indicates: null, note: 'no new downstream connections during the run (connection reuse)' }];
}

/** Istio's stat prefix of a sidecar's inbound HTTP connection manager for a port. */
export const inboundHttpStatPrefix = (port: number): string => `http.inbound_0.0.0.0_${port}.`;

/**
 * Plaintext HTTP connections a sidecar's inbound port accepted during the run, from upstream
 * Envoy's own HCM counters: `downstream_cx_total` counts every connection the inbound HTTP chains
 * of that port took, `downstream_cx_ssl_total` the TLS ones, so the difference is the plaintext
 * ones (only a PERMISSIVE port has a plaintext chain). This needs no Istio telemetry
 * (istio_requests_total does not exist in upstream Envoy). Null when the counters are not there
 * (Istio's default stats matcher drops them).
 */
export function inboundPlaintextConnections(p: ProxyFacts, port: number): { count: number; subject: string; observed: string } | null {
  const s = snapshots(p);
  if (!s) return null;
  const prefix = inboundHttpStatPrefix(port);
  const cx = statDelta(s.before, s.after, `${prefix}downstream_cx_total`);
  const tls = statDelta(s.before, s.after, `${prefix}downstream_cx_ssl_total`);
  if (cx === null || tls === null) return null;
  return { count: Math.max(0, cx - tls), subject: `${prefix}downstream_cx_total - downstream_cx_ssl_total`, observed: `+${cx} - +${tls}` };
}
