import type { DiffChange, RunDiff, RunRef } from '../analyze/diff.js';
import { mdTable } from './markdown.js';
import { renderJUnit, type JUnitCase } from './junit.js';

export const DIFF_FORMATS = ['table', 'json', 'junit', 'markdown'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

const WORD = { regressed: 'REGRESSED', improved: 'IMPROVED', changed: 'CHANGED' } as const;

function runLine(label: string, r: RunRef): string {
  return `${label} run ${r.runId} (${r.startedAt}; ${r.simulated ? 'SIMULATED lab; ' : ''}${r.target}): ${r.overall}`;
}

function countsLine(d: RunDiff): string {
  if (d.changes.length === 0) return `no change in ${d.segmentsCompared} segments (exit 0)`;
  return `${d.changes.length} change(s): ${d.counts.regressed} regressed, ${d.counts.improved} improved, ${d.counts.changed} changed (exit ${d.exitCode})`;
}

/** One line per change: `REGRESSED  gateway->bff-sidecar  status: proven -> contradicted`. */
function renderDiffText(d: RunDiff): string {
  const width = Math.max(0, ...d.changes.map((c) => c.segment.length));
  return [
    `mesh-verify diff: ${countsLine(d)}`,
    runLine('old:', d.old),
    runLine('new:', d.new),
    ...d.changes.map((c) => `${WORD[c.kind].padEnd(9)}  ${c.segment.padEnd(width)}  ${c.message}`),
  ].join('\n') + '\n';
}

function renderDiffMarkdown(d: RunDiff): string {
  const icon = d.counts.regressed > 0 ? '❌' : d.changes.length > 0 ? '⚠️' : '✅';
  const out = [`## mesh-verify diff: ${icon} ${countsLine(d)}`, '', `- ${runLine('old:', d.old)}`, `- ${runLine('new:', d.new)}`, ''];
  if (d.changes.length > 0) {
    out.push(mdTable(['Change', 'Segment', 'What', 'Old', 'New'], d.changes.map((c) => [WORD[c.kind], c.segment, c.field, c.old ?? '(none)', c.new ?? '(none)'])));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** One test case per segment; it fails when something on it regressed. */
function renderDiffJunit(d: RunDiff): string {
  const bySegment = new Map<string, DiffChange[]>();
  for (const c of d.changes) bySegment.set(c.segment, [...(bySegment.get(c.segment) ?? []), c]);
  const cases: JUnitCase[] = d.segments.map((segment) => {
    const changes = bySegment.get(segment) ?? [];
    const regressed = changes.filter((c) => c.kind === 'regressed');
    const body = changes.map((c) => `${WORD[c.kind]} ${c.message}`).join('\n');
    return {
      name: segment, classname: 'mesh-verify.diff',
      ...(regressed.length ? { failure: { message: regressed.map((c) => c.message).join('; '), type: 'regressed', body } } : { systemOut: body || 'no change' }),
    };
  });
  return renderJUnit([{
    name: `diff ${d.old.runId} -> ${d.new.runId}`, cases,
    properties: { old: d.old.runId, new: d.new.runId, segmentsCompared: String(d.segmentsCompared) },
    systemOut: [runLine('old:', d.old), runLine('new:', d.new), countsLine(d)].join('\n'),
  }]);
}

export function renderDiff(d: RunDiff, format: DiffFormat): string {
  switch (format) {
    case 'json': return `${JSON.stringify(d, null, 2)}\n`;
    case 'junit': return renderDiffJunit(d);
    case 'markdown': return renderDiffMarkdown(d);
    default: return renderDiffText(d);
  }
}
