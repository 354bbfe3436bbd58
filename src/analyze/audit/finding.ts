import type { EvidenceItem, Finding } from '../types.js';
import { severityOf, type AuditCode } from './codes.js';

/** Build an audit finding; the severity comes from the code table. */
export function auditFinding(code: AuditCode, object: string, message: string, fix: string | null,
  evidence: EvidenceItem[] = []): Finding {
  return { severity: severityOf(code), code, object, message, evidence, fix };
}

/** Evidence read from a Kubernetes object (intent). */
export function kubeEvidence(subject: string, observed: string, expected?: string, note?: string): EvidenceItem {
  return { level: 'config', proxy: null, source: 'kubernetes', subject, observed, ...(expected ? { expected } : {}),
    effect: 'contradicts', ...(note ? { note } : {}) };
}

/** Evidence read from a proxy's admin endpoint (in effect). */
export function proxyEvidence(proxy: string, source: string, subject: string, observed: string, expected?: string): EvidenceItem {
  return { level: 'config', proxy, source, subject, observed, ...(expected ? { expected } : {}), effect: 'contradicts' };
}

export function podRef(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

const DAY_MS = 24 * 3600_000;
/** Whole days from now until `notAfter` (negative once expired). */
export function daysLeft(notAfter: string, now: Date): number {
  return Math.floor((Date.parse(notAfter) - now.getTime()) / DAY_MS);
}
