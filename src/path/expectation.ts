import { ExitCode } from '../cli/exit-codes.js';
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
