import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputDir, checkOutputFile } from '../../src/cli/output-paths.js';
import { runLabUp } from '../../src/cli/commands/lab.js';
import { runCli } from '../helpers/cli-in-process.js';

/**
 * Issue 9 D3: `--report-dir` naming an existing file failed with exit 70 after the whole run (the
 * report lost: mkdir of the directory gives EEXIST/ENOTDIR), and `lab up --kubeconfig-out DIR`
 * with 70 (EISDIR on the write). Every output option (path --report-dir, path --bundle,
 * lab up --kubeconfig-out; the other commands write to stdout only) is checked before any work:
 * exit 2, one line naming the option, nothing started.
 */
const dir = mkdtempSync(join(tmpdir(), 'mv-out-'));
const aFile = join(dir, 'a-file');
writeFileSync(aFile, 'x');
mkdirSync(join(dir, 'a-dir'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function oneLine(r: { status: number; stdout: string; stderr: string }, option: string): void {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(option);
  // Nothing was started: no progress line about the lab.
  expect(r.stderr).not.toMatch(/starting the lab|lab running/);
}

describe('output paths are checked before any work (exit 2, one line)', () => {
  it('path --report-dir naming an existing file', async () => {
    const r = await runCli('path', '--lab', '--report-dir', aFile);
    oneLine(r, '--report-dir');
    expect(r.stderr).toContain('exists and is not a directory');
  });

  it('path --report-dir under a file', async () => {
    oneLine(await runCli('path', '--lab', '--report-dir', join(aFile, 'out')), '--report-dir');
  });

  it('path --bundle in a missing directory, or naming a directory', async () => {
    const r = await runCli('path', '--lab', '--bundle', join(dir, 'missing', 'b.json'));
    oneLine(r, '--bundle');
    expect(r.stderr).toContain('does not exist');
    oneLine(await runCli('path', '--lab', '--bundle', join(dir, 'a-dir')), '--bundle');
  });

  it('lab up --kubeconfig-out naming a directory, through the CLI and runLabUp', async () => {
    const r = await runCli('lab', 'up', '--kubeconfig-out', join(dir, 'a-dir'));
    oneLine(r, '--kubeconfig-out');
    expect(r.stderr).toContain('is a directory');
    await expect(runLabUp({ fault: null, kubeconfigOut: join(dir, 'missing', 'kc'), quiet: true, out: () => {} }))
      .rejects.toMatchObject({ exitCode: 2 });
    expect(readdirSync(join(dir, 'a-dir'))).toEqual([]);
  });

  it('accepts what can be written: a new directory (created later), an existing one, a new file in one', async () => {
    await expect(checkOutputDir('--report-dir', join(dir, 'new', 'deeper'))).resolves.toBeUndefined();
    await expect(checkOutputDir('--report-dir', join(dir, 'a-dir'))).resolves.toBeUndefined();
    await expect(checkOutputFile('--bundle', join(dir, 'a-dir', 'b.json'))).resolves.toBeUndefined();
    await expect(checkOutputFile('--bundle', aFile)).resolves.toBeUndefined();
  });
});
