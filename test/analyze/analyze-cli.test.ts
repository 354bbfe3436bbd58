import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, loadFixture, type FixtureName } from './fixture-bundles.js';

/** These tests run the built CLI (`npm test` builds first; or `npx tsc -p tsconfig.build.json`). */
const bin = new URL('../../bin/mesh-verify.js', import.meta.url).pathname;
const BUILT = existsSync(new URL('../../dist/cli/commands/analyze.js', import.meta.url));
/** Each recording is judged at its own time (the lab's workload certificates live an hour). */
const at = (name: FixtureName): string => loadFixture(name).run.startedAt;

/** Several CLI runs at once (each is a Node start-up; running them together keeps the suite quick). */
function runAll(argvs: string[][]): Promise<{ status: number | null; stdout: string; stderr: string }[]> {
  return Promise.all(argvs.map((argv) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...argv]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  })));
}

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'mv-analyze-cli-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe.skipIf(!BUILT)(`mesh-verify analyze (built CLI${BUILT ? '' : ': skipped, dist/ not built; run npx tsc -p tsconfig.build.json'})`, () => {
  it('exits with the verdict: 0 proven, 1 contradicted, 3 inconclusive', async () => {
    // Inconclusive: the healthy recording with only its config dumps left (no traffic evidence).
    const healthy = loadFixture('healthy');
    for (const p of healthy.proxies) {
      Object.assign(p.admin, { statsBefore: null, statsAfter: null, prometheusBefore: null, prometheusAfter: null });
      p.accessLog = [];
    }
    for (const r of healthy.requests) r.response = null;
    healthy.client = null;
    const configOnly = join(dir, 'config-only.json');
    await writeFile(configOnly, JSON.stringify(healthy));
    const cases: [string, string, number][] = [
      [fixturePath('healthy'), at('healthy'), 0], [fixturePath('plaintext-gateway-bff'), at('plaintext-gateway-bff'), 1],
      [fixturePath('stats-filtered'), at('stats-filtered'), 0], [configOnly, healthy.run.startedAt, 3],
    ];
    const results = await runAll(cases.map(([file, now]) => ['analyze', file, '--now', now]));
    results.forEach((r, i) => {
      expect(r.status).toBe(cases[i][2]);
      expect(r.stdout).toMatch(/^mesh-verify: run \S+/);
      expect(r.stderr).toBe('');
    });
    expect(results[0].stdout.startsWith(`mesh-verify: run ${healthy.run.id}`)).toBe(true);
  });

  it('writes JSON, JUnit and Markdown, and judges certificates at --now', async () => {
    const [json, junit, md, later] = await runAll([
      ['analyze', fixturePath('expired-cert'), '--now', at('expired-cert'), '-o', 'json'],
      ['analyze', fixturePath('healthy'), '--now', at('healthy'), '-o', 'junit'],
      ['analyze', fixturePath('healthy'), '--now', at('healthy'), '-o', 'markdown'],
      // Two hours on, the lab's one-hour workload certificates have expired.
      ['analyze', fixturePath('healthy'), '--now', new Date(new Date(at('healthy')).getTime() + 2 * 3600_000).toISOString(), '-o', 'json'],
    ]);
    expect(json.status).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.segments.map((s: { status: string }) => s.status)).toEqual(['proven', 'proven', 'proven', 'proven', 'proven', 'contradicted', 'inconclusive']);
    expect(junit.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="mesh-verify" tests="7" failures="0"/);
    expect(md.stdout).toContain('```mermaid\nflowchart LR');
    expect(JSON.parse(later.stdout).findings.map((f: { code: string }) => f.code)).toContain('cert-expired');
  });

  it('turns bad input into one line naming the file, exit 2, no stack trace unless --debug', async () => {
    const empty = join(dir, 'empty.json');
    const text = join(dir, 'notes.txt');
    const other = join(dir, 'v2.json');
    await writeFile(empty, '');
    await writeFile(text, 'not json');
    await writeFile(other, JSON.stringify({ kind: 'mesh-verify/evidence-bundle', schemaVersion: 2 }));
    const cases: [string, string][] = [
      [join(dir, 'missing.json'), 'bundle file not found'], [dir, 'is a directory'], [empty, 'bundle file is empty'],
      [text, 'is not JSON'], [other, 'bundle schemaVersion 2 is not supported by this mesh-verify (reads 1)'],
    ];
    const results = await runAll(cases.map(([file]) => ['analyze', file]));
    results.forEach((r, i) => {
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`mesh-verify: ${cases[i][0]}: ${cases[i][1]}`);
    });
    const verbose = spawnSync(process.execPath, [bin, '--debug', 'analyze', empty], { encoding: 'utf8' });
    expect(verbose.status).toBe(2);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('rejects bad options with exit 2', async () => {
    const results = await runAll([
      ['analyze', fixturePath('healthy'), '--now', 'yesterday'],
      ['analyze', fixturePath('healthy'), '--cert-warn-days', '-3'],
      ['analyze', fixturePath('healthy'), '-o', 'yaml'],
    ]);
    expect(results.map((r) => r.status)).toEqual([2, 2, 2]);
    expect(results[0].stderr).toContain('--now yesterday: not a date');
  });
});
