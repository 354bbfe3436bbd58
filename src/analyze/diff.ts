import type { EvidenceBundle, Protection } from '../bundle/types.js';
import type { EvidenceLevel, PathReport, SegmentStatus, SegmentVerdict } from './types.js';
import { analyzeBundle, DEFAULT_CERT_WARN_DAYS } from './analyze-bundle.js';
import { buildContext, type AnalysisContext, type ProxyFacts, type RunAccessEntry } from './proxy-facts.js';
import { nodeOf, proxyOf, segmentKind } from './path-nodes.js';

/**
 * `mesh-verify diff OLD NEW`: compare two runs segment by segment (pure). Each bundle is judged
 * again (at its own run time unless `now` is given), then per segment the verdict and the facts
 * the bundle holds about the hop's crypto are compared. A fact that one of the two bundles does
 * not record is not compared ("absent = not compared"), so an older bundle never shows changes
 * it could not have seen.
 */
export type ChangeKind = 'regressed' | 'improved' | 'changed';
export type DiffField = 'segment' | 'status' | 'observed' | 'tls-version' | 'cipher' | 'peer-identity' | 'certificate' | 'issuer' | 'cert-expiry' | 'evidence-level';

export interface DiffChange {
  segment: string;
  field: DiffField;
  kind: ChangeKind;
  old: string | null;
  new: string | null;
  /** One line for humans. */
  message: string;
}

export interface RunRef { runId: string; startedAt: string; target: string; simulated: boolean; overall: SegmentStatus }

export interface RunDiff {
  schemaVersion: 1;
  kind: 'mesh-verify/run-diff';
  old: RunRef;
  new: RunRef;
  segmentsCompared: number;
  /** Every segment of either run, old path order first. */
  segments: string[];
  changes: DiffChange[];
  counts: Record<ChangeKind, number>;
  /** 0: nothing regressed (identical, or only improvements and neutral changes); 1: something regressed. */
  exitCode: 0 | 1;
}

/** What one run's bundle says about one segment. `null`: the bundle does not record it. */
export interface SegmentFacts {
  status: SegmentStatus;
  observed: Protection | 'unknown';
  levels: EvidenceLevel[];
  tlsVersions: string[] | null;
  ciphers: string[] | null;
  peerIdentities: string[] | null;
  /** sha256 fingerprints of the certificate the server presented (edge only: mesh certificates rotate). */
  certificates: string[] | null;
  issuers: string[] | null;
  /** notAfter of the certificates protecting the hop (sorted, ISO 8601). */
  notAfter: string[] | null;
  /**
   * The hop's certificates are short-lived workload certificates (mesh hops: Istio renews them
   * about every 12 hours), so a new notAfter is expected on every run and only a change between
   * valid and expired is reported.
   */
  rotating: boolean;
  /** The run's time, at which expiry is judged. */
  at: Date;
}

const STATUS_RANK: Record<SegmentStatus, number> = { contradicted: 0, inconclusive: 1, proven: 2 };
const PROTECTION_RANK: Record<Protection, number> = { plaintext: 0, tls: 1, mtls: 2 };
const LEVELS: EvidenceLevel[] = ['config', 'traffic', 'request', 'identity'];

function set(values: (string | null | undefined)[]): string[] | null {
  const out = [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== '' && v !== '-'))].sort();
  return out.length ? out : null;
}

function rawString(e: RunAccessEntry, key: string): string | null {
  const v = e.raw[key];
  return typeof v === 'string' ? v : null;
}

function inboundEntries(p: ProxyFacts | undefined, port: number | undefined): RunAccessEntry[] {
  if (!p) return [];
  return p.access.filter((e) => (e.upstreamCluster ?? '').startsWith('inbound|')
    && (port === undefined || (e.downstreamLocalAddress ?? '').endsWith(`:${port}`) || (e.upstreamCluster ?? '').startsWith(`inbound|${port}|`)));
}

function outboundEntries(p: ProxyFacts | undefined, cluster: string | undefined): RunAccessEntry[] {
  if (!p || !cluster) return [];
  return p.access.filter((e) => e.upstreamCluster === cluster);
}

type CryptoFacts = Pick<SegmentFacts, 'tlsVersions' | 'ciphers' | 'peerIdentities' | 'certificates' | 'issuers' | 'notAfter' | 'rotating'>;
const NO_FACTS: CryptoFacts = { tlsVersions: null, ciphers: null, peerIdentities: null, certificates: null, issuers: null, notAfter: null, rotating: false };

/** The server's names: its subject and SANs. */
function names(leaf: { subject: string; dnsSans: string[]; uriSans: string[] }): string[] | null {
  return set([leaf.subject, ...leaf.dnsSans.map((d) => `DNS:${d}`), ...leaf.uriSans.map((u) => `URI:${u}`)]);
}

/**
 * The external client's own handshake: what it negotiated and the chain it was shown (the
 * gateway credential through an L4 NLB, or whoever else terminated TLS first).
 */
function clientFacts(ctx: AnalysisContext): CryptoFacts {
  const c = ctx.bundle.client;
  if (!c || (c.error !== null && c.tlsVersion === null)) return NO_FACTS;
  const leaf = c.peerChain[0];
  return {
    tlsVersions: set([c.tlsVersion]),
    ciphers: set([c.cipher]),
    peerIdentities: leaf ? names(leaf) : null,
    certificates: leaf ? set([leaf.fingerprint256]) : null,
    issuers: leaf ? set([leaf.issuer]) : null,
    notAfter: leaf ? set([leaf.notAfter]) : null,
    rotating: false,
  };
}

/** The crypto facts a bundle holds about one segment (see RunDiff). */
function cryptoFacts(ctx: AnalysisContext, v: SegmentVerdict): CryptoFacts {
  const none = NO_FACTS;
  const seg = ctx.bundle.path.segments.find((s) => s.id === v.id);
  if (!seg) return none;
  const from = nodeOf(ctx, seg.from);
  const to = nodeOf(ctx, seg.to);
  const kind = segmentKind(from, to, seg);
  if (kind === 'edge' && to.proxy !== null) {
    // The hop into the gateway: what the gateway logged of the TLS sessions it accepted, and the
    // credential it serves (from its config dump), whoever connected (the client through an L4
    // NLB, or an NLB that terminates and re-originates TLS).
    const gw = proxyOf(ctx, to);
    const secret = gw?.posture?.secrets.find((x) => x.name === seg.hints.serverSecret && x.chain.length > 0);
    const leaf = secret?.chain[0];
    const logged = gw?.access ?? [];
    const client = clientFacts(ctx);
    return {
      // The client's handshake stands in only when the gateway logged none of the run's requests.
      tlsVersions: logged.length > 0 ? set(logged.map((e) => e.downstreamTlsVersion)) : client.tlsVersions,
      ciphers: logged.length > 0 ? set(logged.map((e) => rawString(e, 'downstream_tls_cipher'))) : client.ciphers,
      peerIdentities: leaf ? names(leaf) : client.peerIdentities,
      certificates: leaf ? set([leaf.fingerprint256]) : client.certificates,
      issuers: leaf ? set([leaf.issuer]) : client.issuers,
      notAfter: leaf ? set([leaf.notAfter]) : client.notAfter,
      rotating: false,
    };
  }
  if (kind === 'edge') return clientFacts(ctx);
  if (kind !== 'mesh-hop') return none;
  const sender = proxyOf(ctx, from);
  const receiver = proxyOf(ctx, to);
  const inbound = inboundEntries(receiver, seg.hints.inboundPort);
  const outbound = outboundEntries(sender, seg.hints.cluster);
  const leaves = [sender, receiver].map((p) => p?.workloadCert?.chain[0]).filter((c) => c !== undefined);
  return {
    tlsVersions: set([...inbound.map((e) => e.downstreamTlsVersion), ...outbound.map((e) => e.upstreamTlsVersion)]),
    ciphers: set([...inbound.map((e) => rawString(e, 'downstream_tls_cipher')), ...outbound.map((e) => rawString(e, 'upstream_tls_cipher'))]),
    peerIdentities: set([...inbound.map((e) => e.downstreamPeerUriSan), ...outbound.map((e) => e.upstreamPeerUriSan)]),
    // Workload certificates are renewed about every 12 hours: their fingerprints change every run.
    certificates: null,
    issuers: set(leaves.map((c) => c.issuer)),
    notAfter: set(leaves.map((c) => c.notAfter)),
    rotating: true,
  };
}

export interface JudgedRun { bundle: EvidenceBundle; report: PathReport; facts: Map<string, SegmentFacts> }

/** The time a run is judged at by default: when it finished (else started). */
export function runTime(bundle: EvidenceBundle): Date {
  return new Date(bundle.run.finishedAt ?? bundle.run.startedAt);
}

export function judgeRun(bundle: EvidenceBundle, opts: { now?: Date; certWarnDays?: number } = {}): JudgedRun {
  const now = opts.now ?? runTime(bundle);
  const certWarnDays = opts.certWarnDays ?? DEFAULT_CERT_WARN_DAYS;
  const report = analyzeBundle(bundle, { now, certWarnDays });
  const ctx = buildContext(bundle, now, certWarnDays);
  const facts = new Map<string, SegmentFacts>();
  for (const v of report.segments) {
    facts.set(v.id, { status: v.status, observed: v.observed, levels: v.levels, ...cryptoFacts(ctx, v), at: now });
  }
  return { bundle, report, facts };
}

function list(v: string[] | null): string | null {
  return v === null ? null : v.join(' | ');
}

const TLS_RANK: Record<string, number> = { SSLv3: 0, TLSv1: 1, 'TLSv1.0': 1, 'TLSv1.1': 2, 'TLSv1.2': 3, 'TLSv1.3': 4 };
function lowestTls(v: string[]): number {
  return Math.min(...v.map((x) => TLS_RANK[x] ?? -1));
}

function compareSegment(id: string, a: SegmentFacts, b: SegmentFacts): DiffChange[] {
  const out: DiffChange[] = [];
  const add = (field: DiffField, kind: ChangeKind, oldV: string | null, newV: string | null, what: string) => {
    out.push({ segment: id, field, kind, old: oldV, new: newV, message: `${what}: ${oldV ?? '(none)'} -> ${newV ?? '(none)'}` });
  };
  if (a.status !== b.status) {
    add('status', STATUS_RANK[b.status] < STATUS_RANK[a.status] ? 'regressed' : 'improved', a.status, b.status, 'status');
  }
  if (a.observed !== b.observed) {
    const kind: ChangeKind = a.observed === 'unknown' || b.observed === 'unknown' ? (b.observed === 'unknown' ? 'regressed' : 'improved')
      : PROTECTION_RANK[b.observed] < PROTECTION_RANK[a.observed] ? 'regressed' : 'improved';
    add('observed', kind, a.observed, b.observed, 'observed protection');
  }
  if (a.tlsVersions && b.tlsVersions && list(a.tlsVersions) !== list(b.tlsVersions)) {
    const lo = lowestTls(b.tlsVersions) - lowestTls(a.tlsVersions);
    add('tls-version', lo < 0 ? 'regressed' : lo > 0 ? 'improved' : 'changed', list(a.tlsVersions), list(b.tlsVersions), 'negotiated TLS version');
  }
  if (a.ciphers && b.ciphers && list(a.ciphers) !== list(b.ciphers)) {
    // Whether a suite is acceptable is a policy's call (--tls-policy), not the diff's.
    add('cipher', 'changed', list(a.ciphers), list(b.ciphers), 'negotiated cipher');
  }
  if (a.peerIdentities && b.peerIdentities && list(a.peerIdentities) !== list(b.peerIdentities)) {
    // The peer's identity is what the hop's TLS authenticates: another one is a regression until reviewed.
    add('peer-identity', 'regressed', list(a.peerIdentities), list(b.peerIdentities), 'peer identities');
  }
  if (a.certificates && b.certificates && list(a.certificates) !== list(b.certificates)) {
    add('certificate', 'changed', list(a.certificates), list(b.certificates), 'server certificate (sha256)');
  }
  if (a.issuers && b.issuers && list(a.issuers) !== list(b.issuers)) {
    add('issuer', 'changed', list(a.issuers), list(b.issuers), 'issuing CA');
  }
  if (a.notAfter && b.notAfter && list(a.notAfter) !== list(b.notAfter)) {
    const expired = (v: string[], at: Date) => v.some((t) => Date.parse(t) <= at.getTime());
    const wasExpired = expired(a.notAfter, a.at);
    const isExpired = expired(b.notAfter, b.at);
    if (!(b.rotating && wasExpired === isExpired)) add('cert-expiry', isExpired && !wasExpired ? 'regressed' : wasExpired && !isExpired ? 'improved' : 'changed',
      list(a.notAfter), list(b.notAfter), `certificate notAfter${isExpired ? ` (expired at the new run, ${b.at.toISOString()})` : ''}`);
  }
  for (const level of LEVELS) {
    const had = a.levels.includes(level);
    const has = b.levels.includes(level);
    if (had && !has) out.push({ segment: id, field: 'evidence-level', kind: 'regressed', old: level, new: null, message: `evidence level lost: ${level}` });
    if (!had && has) out.push({ segment: id, field: 'evidence-level', kind: 'improved', old: null, new: level, message: `evidence level gained: ${level}` });
  }
  return out;
}

function ref(r: JudgedRun): RunRef {
  return { runId: r.bundle.run.id, startedAt: r.bundle.run.startedAt, target: r.bundle.run.target.description, simulated: r.bundle.run.target.simulated, overall: r.report.overall };
}

/** Compare two judged runs (old first). */
export function diffJudgedRuns(oldRun: JudgedRun, newRun: JudgedRun): RunDiff {
  const changes: DiffChange[] = [];
  let compared = 0;
  for (const [id, a] of oldRun.facts) {
    const b = newRun.facts.get(id);
    if (!b) {
      changes.push({ segment: id, field: 'segment', kind: 'regressed', old: a.status, new: null, message: 'segment no longer in the path (not verified by the new run)' });
      continue;
    }
    compared += 1;
    changes.push(...compareSegment(id, a, b));
  }
  for (const [id, b] of newRun.facts) {
    if (!oldRun.facts.has(id)) changes.push({ segment: id, field: 'segment', kind: 'changed', old: null, new: b.status, message: `segment new in the path: ${b.status}` });
  }
  const counts: Record<ChangeKind, number> = { regressed: 0, improved: 0, changed: 0 };
  for (const c of changes) counts[c.kind] += 1;
  return {
    schemaVersion: 1, kind: 'mesh-verify/run-diff', old: ref(oldRun), new: ref(newRun), segmentsCompared: compared,
    segments: [...new Set([...oldRun.facts.keys(), ...newRun.facts.keys()])], changes, counts,
    exitCode: counts.regressed > 0 ? 1 : 0,
  };
}

/** Judge both bundles and compare them. `now`, when given, is used for both runs. */
export function diffRuns(oldBundle: EvidenceBundle, newBundle: EvidenceBundle, opts: { now?: Date; certWarnDays?: number } = {}): RunDiff {
  return diffJudgedRuns(judgeRun(oldBundle, opts), judgeRun(newBundle, opts));
}
