import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-in-process.js';

/**
 * Issue 9 D4: under --expect the report printed `(exit 1)` (the verdicts' code) while the process
 * returned 0 (the expectation was met). With -q the report is all a user sees, so every format
 * must carry the status the process returns and the expectation's outcome.
 */
const FAULT = ['path', '--lab', '--fault', 'plaintext-gateway-bff', '--requests', '2', '-q'];

describe('path --expect: the printed status is the one the process returns', { timeout: 120_000 }, () => {
  it('table, markdown and junit print the returned status and "met", json carries both codes', async () => {
    const met = '(exit 0; expected contradicted: met)';
    const table = await runCli(...FAULT, '--expect', 'contradicted');
    expect(table.status).toBe(0);
    expect(table.stderr).toBe('');
    expect(table.stdout).toContain(met);
    expect(table.stdout).not.toContain('(exit 1');

    const md = await runCli(...FAULT, '--expect', 'contradicted', '-o', 'markdown');
    expect(md.status).toBe(0);
    expect(md.stdout).toContain(met);

    const junit = await runCli(...FAULT, '--expect', 'contradicted', '-o', 'junit');
    expect(junit.status).toBe(0);
    expect(junit.stdout).toContain('<property name="exitCode" value="0"/>');
    expect(junit.stdout).toContain('<property name="expected" value="contradicted"/>');
    expect(junit.stdout).toContain('<property name="expectationMet" value="true"/>');

    const json = await runCli(...FAULT, '--expect', 'contradicted', '-o', 'json');
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout) as { exitCode: number; overall: string; expectation: unknown };
    expect(report.overall).toBe('contradicted');
    expect(report.exitCode).toBe(0);
    expect(report.expectation).toEqual({ expected: 'contradicted', met: true, verdictExitCode: 1 });
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
