import type { PathReport } from '../analyze/types.js';
import { renderTable } from './table.js';
import { PROTECTION_WORD, STATUS_WORD, countsLine, targetLine } from './path-report-text.js';

export interface PathTableOptions {
  /** Also list every evidence item of every segment. */
  verbose?: boolean;
  /** Terminal width to fit; null or absent: no wrapping (piped output, `-o wide`). */
  width?: number | null;
}

/** The `mesh-verify analyze` terminal report: one row per segment, findings, optional evidence. */
export function renderPathTable(r: PathReport, opts: PathTableOptions = {}): string {
  const width = opts.width ?? null;
  const out: string[] = [];
  out.push(`mesh-verify: ${targetLine(r)}`);
  for (const n of r.notes ?? []) out.push(`NOTE: ${n}`);
  out.push('');
  out.push(renderTable(
    ['segment', 'status', 'expect', 'observed', 'levels', 'summary'],
    r.segments.map((s) => [s.id, STATUS_WORD[s.status], PROTECTION_WORD[s.expect], PROTECTION_WORD[s.observed], s.levels.join(', '), s.summary]),
    { width, wrap: [4, 5], maxWidths: { 4: 17 }, minWrapWidth: 30 },
  ));
  out.push('');
  out.push(`OVERALL: ${STATUS_WORD[r.overall]}: ${countsLine(r)}`);
  if (r.findings.length > 0) {
    out.push('', 'FINDINGS');
    out.push(renderTable(
      ['severity', 'code', 'object', 'message', 'fix'],
      r.findings.map((f) => [f.severity, f.code, f.object, f.message, f.fix]),
      { width, wrap: [2, 3, 4], minWrapWidth: 30 },
    ));
  }
  if (opts.verbose) {
    for (const s of r.segments) {
      out.push('', `EVIDENCE ${s.id} (${STATUS_WORD[s.status]}, ${s.evidence.length} items)`);
      for (const e of s.evidence) {
        out.push(`  ${e.effect.toUpperCase().padEnd(11)} ${e.level.padEnd(8)} ${e.proxy ?? '-'} ${e.source}: ${e.subject}`);
        out.push(`      observed: ${e.observed}${e.expected ? `   expected: ${e.expected}` : ''}`);
        if (e.note) out.push(`      note: ${e.note}`);
      }
    }
  } else if (r.segments.some((s) => s.status !== 'proven')) {
    out.push('', '(run with --verbose to list every evidence item)');
  }
  return `${out.join('\n')}\n`;
}
