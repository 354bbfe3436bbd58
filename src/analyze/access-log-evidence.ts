import type { Protection } from '../bundle/types.js';
import type { AccessLogEntry } from '../envoy/types.js';
import type { EvidenceItem, EvidenceLevel } from './types.js';
import type { Observation } from './observation.js';
import type { ProxyFacts, RunAccessEntry } from './proxy-facts.js';

/** How one access-log entry reads for a segment; equal readings are merged into one item. */
export interface EntryReading {
  subject: string;
  observed: string;
  level?: EvidenceLevel;
  indicates?: Protection | null;
  effect?: EvidenceItem['effect'];
  expected?: string;
  note?: string;
  headline?: string;
}

/**
 * Merge equal readings (of access-log entries, app answers, ...) into one item each, counting the
 * requests they cover: "TLSv1.3, downstream_peer_uri_san=... (5 of 5 requests)".
 */
export function mergeReadings(
  base: { proxy: string | null; source: string; selection: string },
  readings: { id: string; reading: EntryReading | null }[],
): Observation[] {
  const groups = new Map<string, { reading: EntryReading; ids: Set<string> }>();
  for (const { id, reading } of readings) {
    if (!reading) continue;
    const key = JSON.stringify([reading.subject, reading.observed, reading.indicates ?? null, reading.effect ?? null, reading.level ?? 'request']);
    const g = groups.get(key) ?? { reading, ids: new Set<string>() };
    g.ids.add(id);
    groups.set(key, g);
  }
  const total = new Set(readings.map((r) => r.id)).size;
  return [...groups.values()].map(({ reading, ids }) => ({
    level: reading.level ?? 'request', proxy: base.proxy, source: base.source, subject: `${base.selection}: ${reading.subject}`,
    observed: `${reading.observed} (${ids.size} of ${total} request${total === 1 ? '' : 's'})`,
    ...(reading.expected !== undefined ? { expected: reading.expected } : {}),
    ...(reading.indicates !== undefined ? { indicates: reading.indicates } : {}),
    ...(reading.effect !== undefined ? { effect: reading.effect } : {}),
    ...(reading.note !== undefined ? { note: reading.note } : {}),
    ...(reading.headline !== undefined ? { headline: base.proxy ? `${base.proxy} ${base.source.replace(/_/g, ' ')}: ${reading.headline}` : reading.headline } : {}),
  }));
}

/** Request-level evidence from the access-log lines of this run's requests. */
export function accessLogEvidence(p: ProxyFacts, entries: RunAccessEntry[], selection: string, ...readers: ((e: AccessLogEntry) => EntryReading | null)[]): Observation[] {
  if (entries.length === 0) {
    return [{
      level: 'request', proxy: p.id, source: 'access_log', subject: selection, indicates: null,
      observed: p.capture.accessLog.length === 0 ? 'no access-log lines for this run\'s requests' : 'no matching entry for this run\'s requests',
      note: 'access logging may be off (meshConfig.accessLogFile) or the requests did not pass here',
      headline: `no access-log lines on ${p.id}`,
    }];
  }
  return readers.flatMap((read) => mergeReadings(
    { proxy: p.id, source: 'access_log', selection },
    entries.map((e) => ({ id: e.runRequestId, reading: read(e) })),
  ));
}

/** The downstream side of an entry: did the connection into this proxy use TLS, with which peer? */
export function readDownstream(e: AccessLogEntry): EntryReading {
  if (e.downstreamTlsVersion) {
    const peer = e.downstreamPeerUriSan;
    return {
      subject: 'downstream_tls_version', indicates: peer ? 'mtls' : 'tls',
      observed: `${e.downstreamTlsVersion}${peer ? `, downstream_peer_uri_san=${peer}` : ', no client certificate'}`,
    };
  }
  return { subject: 'downstream_tls_version', indicates: 'plaintext', observed: '- (no TLS)', headline: 'downstream connection without TLS (downstream_tls_version -)' };
}

/** `TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end` -> CERTIFICATE_VERIFY_FAILED */
function failureCode(reason: string): string {
  const codes = reason.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g) ?? [];
  return codes.at(-1) ?? reason.slice(0, 80);
}

/** The upstream side of an entry: did this proxy reach its upstream over TLS, with which peer? */
export function readUpstream(e: AccessLogEntry): EntryReading | null {
  if (e.upstreamTransportFailureReason) {
    return {
      subject: 'upstream_transport_failure_reason', observed: e.upstreamTransportFailureReason, effect: 'contradicts',
      note: 'the upstream TLS handshake failed: no protected connection was established',
      headline: `upstream TLS handshake failed (${failureCode(e.upstreamTransportFailureReason)})`,
    };
  }
  if (e.upstreamTlsVersion) {
    const peer = e.upstreamPeerUriSan;
    return { subject: 'upstream_tls_version', indicates: peer ? 'mtls' : 'tls', observed: `${e.upstreamTlsVersion}${peer ? `, upstream_peer_uri_san=${peer}` : ''}` };
  }
  if (!e.upstreamHost) return null;
  return { subject: 'upstream_tls_version', indicates: 'plaintext', observed: `- (no TLS to ${e.upstreamHost})`, headline: `upstream connection to ${e.upstreamHost} without TLS (upstream_tls_version -)` };
}

/** An identity field of an entry compared with the expected SPIFFE id. */
export function readPeerIdentity(field: 'downstream_peer_uri_san' | 'upstream_peer_uri_san', expected: string) {
  return (e: AccessLogEntry): EntryReading | null => {
    const value = field === 'downstream_peer_uri_san' ? e.downstreamPeerUriSan : e.upstreamPeerUriSan;
    if (!value) return null;
    const ok = value === expected;
    return {
      level: 'identity', subject: field, observed: value, expected, effect: ok ? 'supports' : 'contradicts',
      ...(ok ? {} : { headline: `peer identity ${value} is not the expected ${expected}` }),
    };
  };
}
