import type { EvidenceBundle, SegmentSpec } from '../bundle/types.js';
import type { PathReport, SegmentVerdict } from './types.js';
import type { Observation } from './observation.js';
import { buildContext, type AnalysisContext } from './proxy-facts.js';
import { nodeOf, segmentKind } from './path-nodes.js';
import { edgeObservations } from './edge-segment.js';
import { loopbackObservations } from './loopback-segment.js';
import { meshHopObservations } from './mesh-hop-segment.js';
import { judgeSegment } from './verdict.js';
import { cryptoInventory, negotiatedFor, policyKeyAlgorithm, type NegotiatedHop, type NegotiationContext } from './negotiated.js';
import { evaluatePolicy, type PolicySegmentKind, type TlsPolicy } from './tls-policy.js';
import { canonicalGroup } from './tls-names.js';
import { pathFindings } from './path-findings.js';
import { checkIntegrity, integrityFindings, type IntegrityResult } from './integrity.js';
import { wireObservations } from './wire-evidence.js';

export interface AnalyzeOptions {
  /** The time certificates are judged at (default: now). Tests pass the run's start. */
  now?: Date;
  /** Certificates expiring within this many days are findings (default 30). */
  certWarnDays?: number;
  /** --tls-policy: what each hop negotiated must be allowed by it (else the hop is contradicted). */
  tlsPolicy?: TlsPolicy;
}

/**
 * A hop whose negotiated values the policy does not allow is contradicted like a plaintext hop,
 * with the negotiated and allowed values side by side. Edge: client->NLB and NLB->gateway (no
 * calling proxy); mesh: proxy to proxy.
 */
function policyObservations(policy: TlsPolicy, seg: SegmentSpec, tls: NegotiatedHop, ctx: NegotiationContext): Observation[] {
  const kind: PolicySegmentKind = ctx.proxyOf(seg.from) ? 'mesh' : 'edge';
  const { violations } = evaluatePolicy(policy, kind, { version: tls.version, cipher: tls.cipher, ...(tls.group ? { group: tls.group } : {}), ...policyKeyAlgorithm(tls.server[0]) });
  // Every group Envoy counted during the run is judged, not only the most frequent one.
  const otherGroups = Object.keys(tls.groupHandshakes ?? {}).filter((g) => g !== tls.group);
  for (const g of otherGroups) violations.push(...evaluatePolicy(policy, kind, { group: g }).violations);
  const source = tls.source.startsWith('access_log') ? 'access_log' : tls.source;
  const proxy = tls.source.startsWith('access_log ') ? tls.source.slice('access_log '.length) : tls.source === 'client_handshake' ? 'client' : null;
  return violations.map((v) => {
    const fromStats = v.field === 'group' && tls.groupSource;
    const count = fromStats ? Object.entries(tls.groupHandshakes ?? {}).find(([g]) => (canonicalGroup(g) ?? g) === v.negotiated)?.[1] : undefined;
    return {
      level: v.field === 'keyAlgorithm' ? 'identity' as const : fromStats ? 'traffic' as const : 'request' as const,
      proxy: fromStats ? tls.groupSource!.split(' ')[1] ?? proxy : proxy,
      source: fromStats ? 'stats' : source,
      subject: `${policy.name} (${kind}) ${v.field}`, observed: v.negotiated, expected: v.allowed.join(', '),
      effect: 'contradicts' as const,
      headline: v.message,
      ...(fromStats ? { note: `${count ?? '?'} handshake(s) with this group counted in ${tls.groupSource!.split(' ').slice(2).join(' ')}` } : {}),
    };
  });
}

export const DEFAULT_CERT_WARN_DAYS = 30;

function integrityObservations(integrity: IntegrityResult, seg: SegmentSpec): Observation[] {
  return (integrity.blocked.get(seg.id) ?? []).map((line): Observation => ({
    level: 'request', proxy: null, source: 'bundle_check', subject: 'bundle consistency', observed: line,
    effect: 'neutral', blocksProof: true, headline: line,
  }));
}

function observationsFor(ctx: AnalysisContext, seg: SegmentSpec): Observation[] {
  return [...proxyObservations(ctx, seg), ...wireObservations(ctx, seg)];
}

function proxyObservations(ctx: AnalysisContext, seg: SegmentSpec): Observation[] {
  const from = nodeOf(ctx, seg.from);
  const to = nodeOf(ctx, seg.to);
  switch (segmentKind(from, to, seg)) {
    case 'edge': return edgeObservations(ctx, seg);
    case 'loopback-in':
    case 'loopback-out': return loopbackObservations(ctx, seg);
    case 'mesh-hop': return meshHopObservations(ctx, seg);
    default:
      return [{ level: 'config', proxy: null, source: 'capture', subject: `segment ${seg.id}`, observed: `no evidence source for a ${from.kind} -> ${to.kind} hop`, indicates: null, headline: `mesh-verify has no evidence source for a ${from.kind} -> ${to.kind} hop` }];
  }
}

/**
 * Evidence this run could not have: Istio's request metrics come from Istio's own Envoy
 * extension (istio.stats), which upstream Envoy (the lab) does not have and a mesh can disable.
 */
function telemetryNotes(ctx: AnalysisContext): string[] {
  // The series proxy-facts.ts already parsed from each proxy's /stats/prometheus.
  const scraped = [...ctx.proxies.values()].filter((p) => p.requestsAfter !== null);
  if (scraped.length === 0 || scraped.some((p) => p.requestsAfter!.length > 0)) return [];
  return [`No proxy exposed istio_requests_total (${scraped.length} scraped): Istio's request metrics come from its istio.stats extension, which upstream Envoy lacks and a mesh can turn off, so the traffic level used Envoy's own counters only.`];
}

function targetNotes(bundle: EvidenceBundle): string[] {
  const t = bundle.run.target;
  if ((t.simulated || t.kind === 'lab') && /real Kubernetes [\d.]+ control plane/.test(t.description)) {
    // The lab on a real control plane (src/lab/kube-lab.ts) says so in its description.
    return ['This run was against the local lab: real Envoy proxies, real TLS and the real app in pod network namespaces (real iptables interception) behind a real Kubernetes control plane, but a simulated node and container runtime (kwok) and Istio control plane (no istiod, no Istio telemetry): it shows how mesh-verify judges what real Envoy and Kubernetes report, not how your cluster behaves.'];
  }
  if (t.simulated || t.kind === 'lab') {
    return [`This run was against the local lab: real Envoy proxies, real TLS and the real app on loopback, but a simulated Kubernetes API and Istio control plane (no istiod, no Istio telemetry): it shows how mesh-verify judges what real Envoy reports, not how your cluster behaves.`];
  }
  if (t.kind === 'fixture') return ['This bundle is hand-made fixture data, not a capture from a live cluster.'];
  return [];
}

/** What the wire level could or could not show (only when --capture asked for it). */
function wireNotes(bundle: EvidenceBundle): string[] {
  const w = bundle.wire;
  if (!w) return [];
  if (w.status === 'unavailable') return [`The wire level was skipped: ${w.reason ?? 'the packet capture was unavailable'}.`];
  return [`Wire level: ${w.tool ?? 'a packet capture'} on ${w.interface} recorded ${w.packets} TCP segments (${w.bytes} bytes${w.truncated ? `, ${w.reason ?? 'truncated'}` : ''}) of ${w.hops.length} hops, searched for the run's ${w.marker.values} ${w.marker.header} value(s).`];
}

/**
 * Judge every segment of the bundle's path: compare the expected protection with the evidence
 * at four levels (config, traffic, request, identity) and list findings. Pure.
 * Exit code: 0 every segment proven, 1 some segment contradicted, 3 otherwise (inconclusive).
 */
export function analyzeBundle(bundle: EvidenceBundle, opts: AnalyzeOptions = {}): PathReport {
  const now = opts.now ?? new Date();
  const integrity = checkIntegrity(bundle);
  const ctx = buildContext(bundle, now, opts.certWarnDays ?? DEFAULT_CERT_WARN_DAYS, integrity.untrusted);
  const negotiation = { bundle, proxies: ctx.proxies, proxyOf: (id: string) => nodeOf(ctx, id).proxy ?? null };
  const negotiated = new Map(bundle.path.segments.map((seg) => [seg.id, negotiatedFor(negotiation, seg)] as const));
  const segments: SegmentVerdict[] = bundle.path.segments.map((seg) => {
    const tls = negotiated.get(seg.id) ?? null;
    const policy = opts.tlsPolicy && tls ? policyObservations(opts.tlsPolicy, seg, tls, negotiation) : [];
    const verdict = judgeSegment(seg, [...integrityObservations(integrity, seg), ...observationsFor(ctx, seg), ...policy]);
    return tls ? { ...verdict, negotiated: tls } : verdict;
  });
  const counts = { proven: 0, contradicted: 0, inconclusive: 0 };
  for (const s of segments) counts[s.status] += 1;
  const overall = counts.contradicted > 0 ? 'contradicted' : counts.inconclusive > 0 || segments.length === 0 ? 'inconclusive' : 'proven';
  const notes = [...targetNotes(bundle), ...telemetryNotes(ctx), ...wireNotes(bundle)];
  const report: PathReport = {
    schemaVersion: 1,
    runId: bundle.run.id,
    target: { kind: bundle.run.target.kind, simulated: bundle.run.target.simulated, description: bundle.run.target.description },
    overall,
    segments,
    findings: [...integrityFindings(integrity), ...pathFindings(ctx)],
    counts,
    exitCode: overall === 'proven' ? 0 : overall === 'contradicted' ? 1 : 3,
    generatedAt: now.toISOString(),
    nodes: bundle.path.nodes.map((n) => ({ id: n.id, kind: n.kind, label: n.label })),
  };
  if (notes.length) report.notes = notes;
  const inventory = cryptoInventory(segments.flatMap((s) => (s.negotiated ? [{ segment: s.id, tls: s.negotiated }] : [])));
  if (inventory.length) report.cryptoInventory = inventory;
  if (opts.tlsPolicy) report.tlsPolicy = { name: opts.tlsPolicy.name, sources: opts.tlsPolicy.sources };
  return report;
}
