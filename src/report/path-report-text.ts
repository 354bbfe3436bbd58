import type { EvidenceItem, PathReport, SegmentStatus } from '../analyze/types.js';
import type { Protection } from '../bundle/types.js';

/** Words shared by the path report renderers. */
export const STATUS_WORD: Record<SegmentStatus, string> = { proven: 'PROVEN', contradicted: 'CONTRADICTED', inconclusive: 'INCONCLUSIVE' };
export const PROTECTION_WORD: Record<Protection | 'unknown', string> = { tls: 'TLS', mtls: 'mTLS', plaintext: 'plaintext', unknown: 'unknown' };

const SIGNATURE_WORD = { verified: 'verified', tampered: 'DID NOT HOLD', 'key-expired': 'held, key EXPIRED', 'not-checked': 'not checked' } as const;

/** The counts and the exit status the process returns (with --expect: and whether it was met). */
export function countsLine(r: PathReport): string {
  const e = r.expectation;
  const expected = e ? `; expected ${e.expected}: ${e.met ? 'met' : 'NOT met'}` : '';
  const sig = r.signature ? `; signature ${SIGNATURE_WORD[r.signature.status]}` : '';
  return `${r.counts.proven} proven, ${r.counts.contradicted} contradicted, ${r.counts.inconclusive} inconclusive (exit ${r.exitCode}${expected}${sig})`;
}

export function targetLine(r: PathReport): string {
  return `run ${r.runId} against ${r.target.kind}${r.target.simulated ? ' (SIMULATED)' : ''}: ${r.target.description}`;
}

export function evidenceLine(e: EvidenceItem): string {
  const expected = e.expected ? ` (expected ${e.expected})` : '';
  const note = e.note ? ` -- ${e.note}` : '';
  return `[${e.effect}] ${e.level} ${e.proxy ?? '-'} ${e.source} ${e.subject} = ${e.observed}${expected}${note}`;
}
