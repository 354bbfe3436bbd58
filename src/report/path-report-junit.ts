import type { PathReport } from '../analyze/types.js';
import { renderJUnit, type JUnitCase } from './junit.js';
import { PROTECTION_WORD, countsLine, evidenceLine, targetLine } from './path-report-text.js';

/**
 * One JUnit test case per segment: contradicted is a failure, inconclusive is skipped with the
 * reason; the evidence goes to each case's system-out and the findings to the suite's.
 */
export function renderPathJunit(r: PathReport, pathName = 'path'): string {
  const cases: JUnitCase[] = r.segments.map((s) => {
    const c: JUnitCase = {
      name: `${s.id} expects ${PROTECTION_WORD[s.expect]}`,
      classname: `mesh-verify.${pathName}`,
      systemOut: [`${s.status}: ${s.summary}`, ...s.evidence.map(evidenceLine)].join('\n'),
    };
    if (s.status === 'contradicted') c.failure = { message: s.summary, type: 'contradicted', body: s.evidence.filter((e) => e.effect === 'contradicts').map(evidenceLine).join('\n') };
    if (s.status === 'inconclusive') c.skipped = { message: `inconclusive: ${s.summary}` };
    return c;
  });
  const findings = r.findings.map((f) => `${f.severity.toUpperCase()} ${f.code} ${f.object}: ${f.message}${f.fix ? ` (fix: ${f.fix})` : ''}`);
  return renderJUnit([{
    name: `mesh-verify ${pathName} ${r.runId}`,
    timestamp: r.generatedAt.replace(/\.\d{3}Z$/, ''),
    properties: {
      target: r.target.kind, simulated: String(r.target.simulated), overall: r.overall, exitCode: String(r.exitCode),
      ...(r.expectation ? { expected: r.expectation.expected, expectationMet: String(r.expectation.met) } : {}),
    },
    cases,
    systemOut: [targetLine(r), ...(r.notes ?? []), `overall ${r.overall}: ${countsLine(r)}`, ...findings].join('\n'),
  }]);
}
