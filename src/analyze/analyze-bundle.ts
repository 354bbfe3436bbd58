import type { EvidenceBundle, SegmentSpec } from '../bundle/types.js';
import type { PathReport, SegmentVerdict } from './types.js';
import type { Observation } from './observation.js';
import { buildContext, type AnalysisContext } from './proxy-facts.js';
import { nodeOf, segmentKind } from './path-nodes.js';
import { edgeObservations } from './edge-segment.js';
import { loopbackObservations } from './loopback-segment.js';
import { meshHopObservations } from './mesh-hop-segment.js';
import { judgeSegment } from './verdict.js';
import { pathFindings } from './path-findings.js';
import { wireObservations } from './wire-evidence.js';

export interface AnalyzeOptions {
  /** The time certificates are judged at (default: now). Tests pass the run's start. */
  now?: Date;
  /** Certificates expiring within this many days are findings (default 30). */
  certWarnDays?: number;
}

export const DEFAULT_CERT_WARN_DAYS = 30;

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

function targetNotes(bundle: EvidenceBundle): string[] {
  const t = bundle.run.target;
  if (t.simulated || t.kind === 'lab') {
    return [`This run was against the local lab (${t.description}): real Envoy proxies, real TLS and the real app on loopback, but a simulated Kubernetes API and Istio control plane (no istiod, no Istio telemetry): it shows how mesh-verify judges what real Envoy reports, not how your cluster behaves.`];
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
  const ctx = buildContext(bundle, now, opts.certWarnDays ?? DEFAULT_CERT_WARN_DAYS);
  const segments: SegmentVerdict[] = bundle.path.segments.map((seg) => judgeSegment(seg, observationsFor(ctx, seg)));
  const counts = { proven: 0, contradicted: 0, inconclusive: 0 };
  for (const s of segments) counts[s.status] += 1;
  const overall = counts.contradicted > 0 ? 'contradicted' : counts.inconclusive > 0 || segments.length === 0 ? 'inconclusive' : 'proven';
  const notes = [...targetNotes(bundle), ...wireNotes(bundle)];
  const report: PathReport = {
    schemaVersion: 1,
    runId: bundle.run.id,
    target: { kind: bundle.run.target.kind, simulated: bundle.run.target.simulated, description: bundle.run.target.description },
    overall,
    segments,
    findings: pathFindings(ctx),
    counts,
    exitCode: overall === 'proven' ? 0 : overall === 'contradicted' ? 1 : 3,
    generatedAt: now.toISOString(),
    nodes: bundle.path.nodes.map((n) => ({ id: n.id, kind: n.kind, label: n.label })),
  };
  if (notes.length) report.notes = notes;
  return report;
}
