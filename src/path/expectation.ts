import { ExitCode } from '../core/exit-codes.js';
import type { PathReport } from '../analyze/types.js';
import type { Expectation } from './options.js';

/**
 * The exit code of a run. Without --expect: the report's (0 proven, 1 contradicted,
 * 3 inconclusive). `--expect contradicted` (negative CI runs): 0 when a contradiction was
 * detected, 1 otherwise. `--expect proven`: 0 only when everything was proven, 1 otherwise.
 */
export function exitCodeFor(report: Pick<PathReport, 'exitCode' | 'counts'>, expect: Expectation | null): number {
  if (expect === null) return report.exitCode;
  if (expect === 'contradicted') return report.counts.contradicted > 0 ? ExitCode.OK : ExitCode.CONTRADICTED;
  return report.exitCode === 0 ? ExitCode.OK : ExitCode.CONTRADICTED;
}

/** One line saying whether the expectation was met, or null without --expect. */
export function expectationLine(report: Pick<PathReport, 'overall' | 'counts'>, expect: Expectation | null): string | null {
  if (expect === null) return null;
  const met = expect === 'contradicted' ? report.counts.contradicted > 0 : report.overall === 'proven';
  const seen = `${report.counts.proven} proven, ${report.counts.contradicted} contradicted, ${report.counts.inconclusive} inconclusive`;
  return met ? `expected ${expect}: met (${seen})` : `expected ${expect}: NOT met (${seen})`;
}

/**
 * The report as the process ends it: under --expect, its exit code is the one the process
 * returns and it says what was expected and whether that was met (every renderer prints it).
 */
export function withExpectation(report: PathReport, expect: Expectation | null): PathReport {
  if (expect === null) return report;
  const exitCode = exitCodeFor(report, expect) as 0 | 1;
  return { ...report, exitCode, expectation: { expected: expect, met: exitCode === ExitCode.OK, verdictExitCode: report.exitCode } };
}
