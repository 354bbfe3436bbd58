import { describe, expect, it } from 'vitest';
import { analyzeAtRun, loadFixture, proxy } from '../analyze/fixture-bundles.js';
import { PATH_REPORT_FORMATS, renderPathReport } from '../../src/report/path-report.js';
import type { PathReport } from '../../src/analyze/types.js';

/**
 * Issue 14 section 4: every output format renders in time linear in its input. Asserted without
 * timing (scripts/bench-render.ts measures it): on a report with one 100,000-character field the
 * output of every format is complete and correct, and it grows in proportion to the field (10x
 * the field gives about 10x the output), which a renderer that pads, re-wraps or re-measures per
 * character could not do. A 100,000-character cell in a quadratic renderer also would not finish
 * within the test's time limit.
 */
function prose(size: number): string {
  let s = '';
  for (let i = 0; s.length < size; i++) s += `word${i % 97} `;
  return s.slice(0, size).trimEnd();
}

function reportWithField(text: string): PathReport {
  const b = loadFixture('healthy');
  const svc = proxy(b, 'svc');
  svc.reachable = false;
  svc.errors = [{ endpoint: '/config_dump', phase: 'after', message: text }];
  return analyzeAtRun(b);
}

const OPTS = { width: 110, verbose: true };

describe('rendering cost follows the input', () => {
  const small = reportWithField(prose(10_000));
  const large = reportWithField(prose(100_000));
  const oneWord = reportWithField('x'.repeat(100_000));

  for (const format of PATH_REPORT_FORMATS) {
    it(`${format}: a 100,000-character field is rendered whole, and the output grows linearly with it`, () => {
      const a = renderPathReport(small, format, OPTS);
      const b = renderPathReport(large, format, OPTS);
      const word = renderPathReport(oneWord, format, OPTS);
      // every word of the field is there (wrapped or escaped, but not cut)
      for (const w of ['word0', 'word42', 'word96']) expect(b).toContain(w);
      expect(word.replace(/\s/g, '')).toContain('x'.repeat(100_000));
      const growth = (b.length - a.length) / 90_000;
      // the field appears a fixed number of times in each format: output grows by k * 90,000
      // characters for a whole k (at most a few times, plus wrapping overhead), never more
      expect(growth).toBeGreaterThan(0.9);
      expect(growth).toBeLessThan(12);
    });
  }

});
