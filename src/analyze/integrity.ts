import { X509Certificate } from 'node:crypto';
import type { EvidenceBundle, ProxyCapture, SegmentSpec } from '../bundle/types.js';
import { consistencyProblems, quote } from '../bundle/consistency.js';
import { chainsTo } from '../envoy/certificate.js';
import { parseStats } from '../envoy/stats.js';
import { istioRequests, parsePrometheus } from '../envoy/prometheus.js';
import { parseAccessLogLine } from '../envoy/access-log.js';
import { VIRTUAL_INBOUND_STATS } from './stats-evidence.js';
import { echoedMeshVerifyId, runCorrelation, runRequestOf } from '../bundle/correlation.js';
import type { Finding } from './types.js';

/**
 * The analyzer's re-verification of a bundle before judging it. A bundle is a claim; what can be
 * checked inside it is checked instead of trusted:
 *  - it records requests of this run, and not all of them failed (else no log line or counter can
 *    be tied to this run's traffic), and no request that failed at the client is logged as a
 *    success by a proxy;
 *  - every access-log line and app answer in it belongs to one of its requests;
 *  - a proxy marked unreachable carries no captured data (its data is not used either way);
 *  - timestamps: requests and captures lie inside the run window, a proxy's "before" capture
 *    precedes the first request and its "after" capture follows the last one;
 *  - counters (`/stats` counters, `istio_requests_total` series) do not go backwards or vanish
 *    between captures (Envoy keeps them until it restarts);
 *  - the client's `authorized: true` claim is re-verified: the recorded chain must chain to the
 *    recorded gateway CA (PathSpec.gatewayCaPem) and cover the host; a self-signed credential is
 *    named (`authorized: false` is a fact of the run, judged by the analyzer, not a bundle defect);
 *  - the recorded TLS version is a TLS protocol version (not `none`).
 * Each failed check is one line; the segments it affects cannot be PROVEN (they stay contradicted
 * when something contradicts them, else become inconclusive with that line). Structural problems
 * (src/bundle/consistency.ts: duplicate ids or captures, edited expected identities) affect every
 * segment here, and the loader refuses such a bundle outright (exit 2). Pure.
 */
export interface IntegrityIssue {
  check: string;
  message: string;
  /** Segment ids this issue keeps from being proven. */
  segments: string[];
  /** 'warning': reported, but keeps nothing from being proven (default 'error'). */
  severity?: 'warning';
}

export interface IntegrityResult {
  issues: IntegrityIssue[];
  /** Segment id -> the lines that keep it from being proven. */
  blocked: Map<string, string[]>;
  /** Proxies whose captured data must not be used (marked unreachable). */
  untrusted: Set<string>;
}

/** Clock tolerance between the tool's own timestamps (one clock: the machine running mesh-verify). */
const TOOL_SKEW_MS = 1_000;
/** Counters whose value can only grow while a proxy runs (the /stats text does not type them). */
const COUNTER = /(?:_total|\.handshake|\.ssl\.[a-z_.]+|_error|_errors|\.no_certificate|\.fail_verify_[a-z_]+|\.rq_[0-9a-z]+|\.cx_[a-z_]+_total)$/;
const GAUGE_HINT = /(?:_active|\.active|_open|_pending|\.version|\.uptime|_ms$|\.concurrency|_bytes$|\.state$|\.live$)/;
const TLS_VERSIONS = new Set(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);

function time(s: string | null | undefined): number | null {
  if (typeof s !== 'string') return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

/** Segments whose `from` or `to` node is (or is served by) proxy `id`. */
function segmentsOfProxy(bundle: EvidenceBundle, id: string): string[] {
  const nodes = new Map(bundle.path.nodes.map((n) => [n.id, n.proxy]));
  return bundle.path.segments.filter((s) => nodes.get(s.from) === id || nodes.get(s.to) === id).map((s) => s.id);
}

function clientSegments(bundle: EvidenceBundle): string[] {
  const kinds = new Map(bundle.path.nodes.map((n) => [n.id, n.kind]));
  return bundle.path.segments.filter((s: SegmentSpec) => kinds.get(s.from) === 'client').map((s) => s.id);
}

function hasData(p: ProxyCapture): boolean {
  return p.accessLog.length > 0 || Object.values(p.admin).some((a) => a !== null);
}

function hostCovered(cert: X509Certificate, host: string): boolean {
  try {
    return cert.checkHost(host) !== undefined;
  } catch {
    return false;
  }
}

function clientIssues(bundle: EvidenceBundle): Omit<IntegrityIssue, 'segments'>[] {
  const c = bundle.client;
  if (!c) return [];
  const out: Omit<IntegrityIssue, 'segments'>[] = [];
  if (c.tlsVersion !== null && !TLS_VERSIONS.has(c.tlsVersion)) {
    out.push({ check: 'client-tls-version', message: `the client's recorded TLS version ${quote(c.tlsVersion)} is not a TLS protocol version` });
  }
  const leafPem = c.peerChain[0]?.pem;
  let leaf: X509Certificate | null = null;
  try {
    leaf = leafPem ? new X509Certificate(leafPem) : null;
  } catch {
    leaf = null;
  }
  if (leafPem && !leaf) out.push({ check: 'client-chain', message: 'the leaf certificate the client recorded cannot be parsed' });
  if (leaf && leaf.fingerprint256.replace(/:/g, '').toLowerCase() !== c.peerChain[0].fingerprint256.toLowerCase()) {
    out.push({ check: 'client-chain', message: 'the recorded fingerprint of the client\'s leaf certificate is not its SHA-256' });
  }
  if (leaf && leaf.subject === leaf.issuer && leaf.verify(leaf.publicKey)) {
    out.push({ check: 'gateway-credential-self-signed', message: `the gateway credential the client saw is self-signed (${leaf.subject.replace(/\n/g, ', ')})` });
  }
  // `authorized: false` is an honest record of what the client saw (a real NLB that terminates TLS
  // with its own CA records exactly that): the analyzer's client evidence keeps the segment from
  // being proven and the client-chain-untrusted finding names it. Only a claim of success can be
  // re-verified here.
  if (!c.authorized) return out;
  if (!bundle.path.gatewayCaPem) {
    out.push({ check: 'client-authorized', message: 'the bundle claims the client verified the server\'s chain, but records no gateway CA to re-verify it against' });
  } else if (!leafPem || !chainsTo(c.peerChain.map((x) => x.pem.trim()).join('\n'), [bundle.path.gatewayCaPem])) {
    out.push({ check: 'client-authorized', message: 'the bundle claims the client verified the server\'s chain, but it does not chain to the recorded gateway CA' });
  } else if (leaf && !hostCovered(leaf, c.host)) {
    out.push({ check: 'client-authorized', message: `the bundle claims the client verified the server's chain, but its leaf does not cover the host ${quote(c.host)}` });
  }
  return out;
}

/**
 * The stat names the analyzer reads for the path (the hinted clusters and listeners, the
 * virtualInbound listener): only those are checked, so that a cluster an xDS push removed during
 * the run (its stats go with it) does not make the bundle suspect.
 */
function readStatPrefixes(bundle: EvidenceBundle): string[] {
  const out = new Set<string>([`listener.${VIRTUAL_INBOUND_STATS}.`]);
  for (const s of bundle.path.segments) {
    if (s.hints.cluster) out.add(`cluster.${s.hints.cluster}`);
    if (s.hints.listener) out.add(`listener.${s.hints.listener}.`);
    if (s.hints.inboundPort !== undefined) out.add(`cluster.inbound|${s.hints.inboundPort}|`);
  }
  return [...out];
}

function counterIssue(p: ProxyCapture, prefixes: readonly string[]): string | null {
  const a = p.admin;
  if (a.statsBefore && a.statsAfter) {
    const before = parseStats(a.statsBefore.body);
    const after = parseStats(a.statsAfter.body);
    for (const [name, value] of before) {
      if (!COUNTER.test(name) || GAUGE_HINT.test(name) || !prefixes.some((x) => name.startsWith(x))) continue;
      const now = after.get(name);
      if (now !== undefined && now < value) return `counter ${quote(name)} of proxy ${quote(p.id)} went backwards (${value} -> ${now}): the proxy restarted or the capture was edited`;
      if (now === undefined && after.size > 0) return `counter ${quote(name)} of proxy ${quote(p.id)} is in the before capture but not in the after one: the proxy restarted or the capture was edited`;
    }
  }
  if (a.prometheusBefore && a.prometheusAfter) {
    const key = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort(([x], [y]) => x.localeCompare(y)));
    const before = new Map(istioRequests(parsePrometheus(a.prometheusBefore.body)).map((s) => [key(s.labels), s.value]));
    const after = istioRequests(parsePrometheus(a.prometheusAfter.body));
    for (const s of after) {
      const was = before.get(key(s.labels));
      if (was !== undefined && s.value < was) return `istio_requests_total of proxy ${quote(p.id)} went backwards (${was} -> ${s.value}): the proxy restarted or the capture was edited`;
      before.delete(key(s.labels));
    }
    if (before.size > 0 && after.length > 0) {
      return `${before.size} istio_requests_total series of proxy ${quote(p.id)} are in the before scrape but not in the after one: the proxy restarted or the capture was edited`;
    }
  }
  return null;
}

function timeIssues(bundle: EvidenceBundle, p: ProxyCapture, first: number | null, last: number | null): string[] {
  const start = time(bundle.run.startedAt);
  const end = time(bundle.run.finishedAt);
  const out: string[] = [];
  for (const [name, a] of Object.entries(p.admin)) {
    if (!a) continue;
    const t = time(a.capturedAt);
    if (t === null) out.push(`${name} of proxy ${quote(p.id)} has no valid capture time`);
    else if ((start !== null && t < start - TOOL_SKEW_MS) || (end !== null && t > end + TOOL_SKEW_MS)) {
      out.push(`${name} of proxy ${quote(p.id)} was captured at ${quote(a.capturedAt)}, outside the run (${bundle.run.startedAt} to ${bundle.run.finishedAt ?? '-'})`);
    }
  }
  const pairs = [['statsBefore', 'statsAfter'], ['prometheusBefore', 'prometheusAfter']] as const;
  for (const [b, a] of pairs) {
    const tb = time(p.admin[b]?.capturedAt);
    const ta = time(p.admin[a]?.capturedAt);
    if (tb !== null && ta !== null && ta < tb) out.push(`${a} of proxy ${quote(p.id)} was captured before its ${b}`);
    if (tb !== null && first !== null && tb > first + TOOL_SKEW_MS) out.push(`${b} of proxy ${quote(p.id)} was captured after the run's first request`);
    if (ta !== null && last !== null && ta < last - TOOL_SKEW_MS) out.push(`${a} of proxy ${quote(p.id)} was captured before the run's last request`);
  }
  return out;
}

export function checkIntegrity(bundle: EvidenceBundle): IntegrityResult {
  const issues: IntegrityIssue[] = [];
  const all = bundle.path.segments.map((s) => s.id);
  const add = (check: string, message: string, segments: string[]): void => { issues.push({ check, message, segments }); };

  for (const p of consistencyProblems(bundle)) add(p.check, p.message, all);

  const requests = bundle.requests;
  const allFailed = requests.length > 0 && requests.every((r) => r.status === null);
  if (requests.length === 0) {
    add('run-requests', 'the bundle records no requests of this run, so no log line, counter or answer can be tied to it', all);
  } else {
    const failed = requests.filter((r) => r.status === null);
    if (allFailed) add('run-requests', `every request of this run failed at the client (${failed.length} of ${requests.length} without a status)`, all);
  }

  const start = time(bundle.run.startedAt);
  const end = time(bundle.run.finishedAt);
  const sent = requests.map((r) => time(r.sentAt));
  const outside = requests.filter((r, i) => sent[i] === null || (start !== null && (sent[i] as number) < start - TOOL_SKEW_MS) || (end !== null && (sent[i] as number) > end + TOOL_SKEW_MS));
  if (outside.length > 0) add('run-window', `request ${quote(outside[0].id)} was sent at ${quote(outside[0].sentAt)}, outside the run (${bundle.run.startedAt} to ${bundle.run.finishedAt ?? '-'})`, all);
  const valid = sent.filter((t): t is number => t !== null);
  const first = valid.length ? Math.min(...valid) : null;
  const last = valid.length ? Math.max(...valid) : null;

  const correlation = runCorrelation(requests);
  const prefixes = readStatPrefixes(bundle);
  const byId = new Map(requests.map((r) => [r.id, r]));
  const untrusted = new Set<string>();
  for (const p of bundle.proxies) {
    const mine = segmentsOfProxy(bundle, p.id);
    if (!p.reachable) {
      untrusted.add(p.id);
      if (hasData(p)) add('unreachable-proxy', `proxy ${quote(p.id)} is marked unreachable but its capture holds data (not used)`, mine);
      continue;
    }
    let foreign = 0;
    for (const line of p.accessLog) {
      const entry = parseAccessLogLine(line);
      if (!entry) continue; // not an access-log line the analyzer can read: it is not used either
      const id = runRequestOf(correlation, entry);
      if (!id) { foreign += 1; continue; }
      const r = byId.get(id);
      const code = entry?.responseCode ?? null;
      if (r && r.status === null && code !== null && code >= 200 && code < 400) {
        // With every request failed, the logs cannot be this run's traffic: nothing is proven. One
        // failed request among answered ones may be a client timeout after the answer: a warning.
        const message = `request ${quote(r.id)} failed at the client (${quote(r.error ?? 'no status')}), but proxy ${quote(p.id)} logged ${code} for it`;
        if (allFailed) add('request-outcome', message, all);
        else issues.push({ check: 'request-outcome', message, segments: [], severity: 'warning' });
      }
    }
    if (foreign > 0) add('run-evidence', `${foreign} access-log line(s) of proxy ${quote(p.id)} belong to no request of this run`, mine);
    const counters = counterIssue(p, prefixes);
    if (counters) add('counters', counters, mine);
    for (const t of timeIssues(bundle, p, first, last)) add('capture-times', t, mine);
  }

  for (const r of requests) {
    for (let e = r.response, depth = 0; e && depth < 8; e = e.upstream?.body ?? null, depth++) {
      const theirs = echoedMeshVerifyId(e);
      if (theirs !== null && theirs !== r.id) {
        add('run-evidence', `the answer of app ${quote(e.service)} recorded for request ${quote(r.id)} is the answer to ${quote(theirs)}`, all);
        break;
      }
    }
  }

  for (const i of clientIssues(bundle)) add(i.check, i.message, clientSegments(bundle));

  const blocked = new Map<string, string[]>();
  for (const i of issues) {
    for (const s of i.segments) {
      const lines = blocked.get(s) ?? [];
      const line = `bundle check ${i.check} failed: ${i.message}`;
      if (!lines.includes(line)) lines.push(line);
      blocked.set(s, lines);
    }
  }
  return { issues, blocked, untrusted };
}

/** One finding per failed check (severity error): the report says what was not trusted. */
export function integrityFindings(result: IntegrityResult): Finding[] {
  const seen = new Set<string>();
  return result.issues.filter((i) => {
    const k = `${i.check}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  }).map((i) => ({
    severity: i.severity ?? ('error' as const), code: 'bundle-inconsistent', object: `bundle check ${i.check}`,
    message: `${i.message}${i.segments.length ? `; not proven because of it: ${i.segments.join(', ')}` : ''}`,
    evidence: [],
    fix: 'capture the run again with mesh-verify path; a bundle whose own records disagree is not evidence',
  }));
}
