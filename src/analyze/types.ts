import type { Protection } from '../bundle/types.js';
import type { CryptoInventoryEntry, NegotiatedHop } from './negotiated.js';

export type SegmentStatus = 'proven' | 'contradicted' | 'inconclusive';
/** wire: a packet capture of the hop (`path --lab --capture`), what the bytes themselves showed. */
export type EvidenceLevel = 'config' | 'traffic' | 'request' | 'identity' | 'wire';

/** One named fact behind a verdict: where it was read and what it says. */
export interface EvidenceItem {
  level: EvidenceLevel;
  /** ProxyCapture.id or 'client' or null. */
  proxy: string | null;
  /** 'config_dump', 'stats', 'prometheus', 'certs', 'access_log', 'xfcc', 'client_handshake', 'packet_capture', ... */
  source: string;
  /** The exact listener / cluster / stat / header / field name. */
  subject: string;
  observed: string;
  expected?: string;
  /** What this item says about the segment. */
  effect: 'supports' | 'contradicts' | 'neutral';
  note?: string;
}

export interface SegmentVerdict {
  id: string;
  from: string;
  to: string;
  expect: Protection;
  /** What the evidence shows; 'unknown' when nothing showed it. */
  observed: Protection | 'unknown';
  status: SegmentStatus;
  /** One sentence for humans. */
  summary: string;
  /** Levels that backed the verdict (supporting or contradicting). */
  levels: EvidenceLevel[];
  evidence: EvidenceItem[];
  /** Added: caveats that hold even when proven (e.g. 'svc port 8080 is PERMISSIVE'). */
  caveats?: string[];
  /** Added for TLS/mTLS hops: what the wire negotiated and the certificates protecting it. */
  negotiated?: NegotiatedHop;
}

export type Severity = 'error' | 'warning' | 'info';

/** A problem worth telling that is not a segment verdict (PERMISSIVE, expiring cert, ...). Shared with audit. */
export interface Finding {
  severity: Severity;
  /** Stable machine code, e.g. 'inbound-permissive', 'cert-expiring'. */
  code: string;
  /** The object concerned: 'pod mesh-verify/svc-... port 8080', 'secret default on bff'. */
  object: string;
  message: string;
  evidence: EvidenceItem[];
  /** One-line fix. */
  fix: string | null;
}

export interface PathReport {
  schemaVersion: 1;
  runId: string;
  target: { kind: string; simulated: boolean; description: string };
  overall: SegmentStatus;
  segments: SegmentVerdict[];
  findings: Finding[];
  counts: { proven: number; contradicted: number; inconclusive: number };
  /**
   * The exit status of the process for this report: without --expect 0 all proven,
   * 1 something contradicted, 3 inconclusive; with --expect 0 met, 1 not met.
   */
  exitCode: 0 | 1 | 3;
  /** Added under `path --expect`: what was expected, whether it was met, and the verdicts' own exit code. */
  expectation?: { expected: 'proven' | 'contradicted'; met: boolean; verdictExitCode: 0 | 1 | 3 };
  generatedAt: string;
  /** Added: the path's nodes in order (for diagrams). */
  nodes?: { id: string; kind: string; label: string }[];
  /** Added: what every reader must know about this run (e.g. it ran against the simulated lab). */
  notes?: string[];
  /** Added: every certificate protecting a hop of this run, once, with the hops it protects. */
  cryptoInventory?: CryptoInventoryEntry[];
  /** Added with --tls-policy: the policy the negotiated values were judged against. */
  tlsPolicy?: { name: string; sources: string[] };
  /** Added by `analyze` when the bundle is signed: whether its signature held (src/analyze/signature.ts). */
  signature?: ReportSignature;
}

export interface ReportSignature {
  /** not-checked: an envelope is beside the bundle but no --key was given. */
  status: 'verified' | 'tampered' | 'key-expired' | 'not-checked';
  keyid: string | null;
  message: string;
}
