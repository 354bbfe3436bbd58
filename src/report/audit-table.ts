import type { AuditReport } from '../analyze/audit/types.js';
import { renderTable } from './table.js';

/**
 * The audit for a terminal: a summary line, then one row per finding (severity first), fitted
 * to `width` (a terminal's) by wrapping object, message and fix at spaces; null: full lines.
 */
export function renderAuditTable(r: AuditReport, opts: { width?: number | null } = {}): string {
  const lines: string[] = [];
  const cp = r.controlPlane.revisions.map((x) => `${x.revision}=${x.version ?? '?'}`).join(', ') || 'none found';
  lines.push(`Audit of ${r.target.context ?? 'cluster'}${r.target.simulated ? ' (SIMULATED lab)' : ''}: control plane ${cp}; `
    + `${r.proxies.read}/${r.proxies.total} proxies read${r.proxies.unreadable ? ` (${r.proxies.unreadable} unreadable)` : ''}, ${r.pods} pods, ${(r.durationMs / 1000).toFixed(1)} s`);
  lines.push(`Findings: ${r.counts.error} error, ${r.counts.warning} warning, ${r.counts.info} info`);
  if (r.findings.length > 0) {
    lines.push('');
    lines.push(renderTable(['severity', 'code', 'object', 'message', 'fix'],
      r.findings.map((f) => [f.severity, f.code, f.object, f.message, f.fix]),
      { width: opts.width ?? null, wrap: [2, 3, 4], minWrapWidth: 30 }));
  }
  return lines.join('\n') + '\n';
}
