import type { AuditReport } from '../analyze/audit/types.js';

/** The audit as JSON (a public contract: fields may be added, never renamed). */
export function renderAuditJson(r: AuditReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}
