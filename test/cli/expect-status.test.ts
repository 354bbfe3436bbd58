import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli-in-process.js';

/**
 * Issue 9 D4: under --expect the report printed `(exit 1)` (the verdicts' code) while the process
 * returned 0 (the expectation was met). With -q the report is all a user sees, so every format
 * must carry the status the process returns and the expectation's outcome.
 */
const FAULT = ['path', '--lab', '--fault', 'plaintext-gateway-bff', '--requests', '2', '-q'];

describe('path --expect: the printed status is the one the process returns', { timeout: 120_000 }, () => {
  it('table, markdown and junit print the returned status and "met", json carries both codes', async () => {
    // One run: the table on stdout, the other formats as --report-dir writes them (the same
    // renderers as -o markdown, -o junit and -o json, given the same report).
    const met = '(exit 0; expected contradicted: met)';
    const dir = await mkdtemp(join(tmpdir(), 'mv-expect-'));
    try {
      const table = await runCli(...FAULT, '--expect', 'contradicted', '--report-dir', dir);
      expect(table.status).toBe(0);
      expect(table.stderr).toBe('');
      expect(table.stdout).toContain(met);
      expect(table.stdout).not.toContain('(exit 1');

      expect(await readFile(join(dir, 'report.md'), 'utf8')).toContain(met);

      const junit = await readFile(join(dir, 'junit.xml'), 'utf8');
      expect(junit).toContain('<property name="exitCode" value="0"/>');
      expect(junit).toContain('<property name="expected" value="contradicted"/>');
      expect(junit).toContain('<property name="expectationMet" value="true"/>');

      const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as { exitCode: number; overall: string; expectation: unknown };
      expect(report.overall).toBe('contradicted');
      expect(report.exitCode).toBe(0);
      expect(report.expectation).toEqual({ expected: 'contradicted', met: true, verdictExitCode: 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an expectation not met: exit 1 printed and returned, "NOT met"', async () => {
    const r = await runCli(...FAULT, '--expect', 'proven');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('(exit 1; expected proven: NOT met)');
  });

  it('without --expect the report is unchanged: the verdicts\' exit code, no expectation', async () => {
    const r = await runCli(...FAULT, '-o', 'json');
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { exitCode: number; expectation?: unknown };
    expect(report.exitCode).toBe(1);
    expect(report.expectation).toBeUndefined();
  });
});
