import type { Finding } from '../types.js';
import type { AuditCounts, AuditReport } from './types.js';

const ORDER = { error: 0, warning: 1, info: 2 } as const;

/** Findings in a stable order: severity, code, object. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]
    || a.code.localeCompare(b.code) || a.object.localeCompare(b.object, 'en', { numeric: true }));
}

export function countFindings(findings: Finding[]): AuditCounts {
  const c: AuditCounts = { error: 0, warning: 0, info: 0 };
  for (const f of findings) c[f.severity] += 1;
  return c;
}

/**
 * 1 when any error-level finding exists (a definite problem wins over a partial read); else 3
 * when some proxies could not be read; else 0.
 */
export function auditExitCode(counts: AuditCounts, unreadable: number): AuditReport['exitCode'] {
  if (counts.error > 0) return 1;
  if (unreadable > 0) return 3;
  return 0;
}
