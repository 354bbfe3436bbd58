import type { PathReport, SegmentStatus } from '../analyze/types.js';
import { mdCode, mdDetails, mdTable, mermaidFlowchart } from './markdown.js';
import { PROTECTION_WORD, STATUS_WORD, countsLine, targetLine } from './path-report-text.js';

const ICON: Record<SegmentStatus, string> = { proven: '✅', contradicted: '❌', inconclusive: '⚠️' };
const COLOR: Record<SegmentStatus, string> = { proven: '#2da44e', contradicted: '#cf222e', inconclusive: '#bf8700' };

/**
 * Markdown for GitHub job summaries and PR comments: the overall result, a Mermaid diagram of
 * the path with each segment's state on its edge, the segment table, findings, and each
 * segment's evidence in a collapsible table.
 */
export function renderPathMarkdown(r: PathReport): string {
  const out: string[] = [];
  out.push(`## mesh-verify: ${ICON[r.overall]} ${STATUS_WORD[r.overall]}`);
  out.push('');
  for (const n of r.notes ?? []) out.push(`> **Note:** ${n}`, '');
  out.push(`${targetLine(r)}  `, `**Overall:** ${mdCode(r.overall)}: ${countsLine(r)}`, '');
  const nodeIds = new Set(r.segments.flatMap((s) => [s.from, s.to]));
  const nodes = (r.nodes ?? []).filter((n) => nodeIds.has(n.id)).map((n) => ({ id: n.id, label: n.label }));
  for (const id of nodeIds) if (!nodes.some((n) => n.id === id)) nodes.push({ id, label: id });
  out.push(mermaidFlowchart(nodes, r.segments.map((s) => ({
    from: s.from, to: s.to, color: COLOR[s.status], dashed: s.status === 'inconclusive',
    label: `${PROTECTION_WORD[s.expect]}: ${s.status}`,
  }))));
  out.push('');
  out.push(mdTable(['Segment', 'Status', 'Expect', 'Observed', 'Levels', 'Summary'], r.segments.map((s) => [
    s.id, `${ICON[s.status]} ${s.status}`, PROTECTION_WORD[s.expect], PROTECTION_WORD[s.observed], s.levels.join(', '), s.summary,
  ])));
  out.push('', '### Findings', '');
  out.push(r.findings.length === 0 ? 'None.' : mdTable(['Severity', 'Code', 'Object', 'Message', 'Fix'], r.findings.map((f) => [f.severity, f.code, f.object, f.message, f.fix])));
  out.push('', '### Evidence', '');
  for (const s of r.segments) {
    out.push(mdDetails(`${ICON[s.status]} ${s.id}: ${s.status} (${s.evidence.length} items)`, mdTable(
      ['Effect', 'Level', 'Proxy', 'Source', 'Subject', 'Observed', 'Expected'],
      s.evidence.map((e) => [e.effect, e.level, e.proxy, e.source, e.subject, e.note ? `${e.observed} (${e.note})` : e.observed, e.expected]),
    )), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
