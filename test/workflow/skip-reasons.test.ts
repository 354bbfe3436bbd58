import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Inside the project so that the fixture resolves 'vitest' from its node_modules.
const dir = mkdtempSync(join(ROOT, 'test', 'workflow', '.skip-fixture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Issue 9 D8: vitest's default reporter prints "(3 tests | 2 skipped)" for a passing file and
 * never which tests were skipped or why. The project's config adds test/reporters/skip-reasons.ts
 * after the default reporter; run vitest on a small file with both kinds of skip and read its output.
 */
describe('skipped tests say why in the default output', () => {
  it('lists skipIf tests by name and ctx.skip(note) tests with their note', () => {
    writeFileSync(join(dir, 'sample.test.ts'), [
      "import { it } from 'vitest';",
      "it('runs', () => {});",
      "it.skipIf(true)('needs a thing (skipped: the thing is not installed)', () => {});",
      "it('skips at run time', (ctx) => { ctx.skip('no /proc here'); });",
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'vitest.config.ts'), [
      "import { defineConfig } from 'vitest/config';",
      `export default defineConfig({ test: { include: ['*.test.ts'], reporters: (await import(${JSON.stringify(join(ROOT, 'vitest.config.ts'))})).default.test.reporters.map((r) => r.startsWith('./') ? ${JSON.stringify(ROOT)} + r.slice(2) : r) } });`,
      '',
    ].join('\n'));
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', dir],
      { encoding: 'utf8', env: { ...process.env, CI: 'true', NO_COLOR: '1' }, timeout: 120_000 });
    const out = r.stdout + r.stderr;
    expect(r.status, out).toBe(0);
    expect(out).toContain('Skipped tests (2), with the reason:');
    expect(out).toContain('sample.test.ts > needs a thing (skipped: the thing is not installed)');
    expect(out).toContain('sample.test.ts > skips at run time [no /proc here]');
    expect(out).not.toContain('> runs');
  });
});
