import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { VERSION } from '../../src/version.js';

const bin = new URL('../../bin/mesh-verify.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('mesh-verify CLI funnel', () => {
  it('keeps VERSION in step with package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
    expect(run('--version').stdout.trim()).toBe(pkg.version);
  });

  it('prints help with exit 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: mesh-verify');
    for (const cmd of ['inspect', 'analyze', 'path', 'audit', 'lab']) expect(r.stdout).toContain(cmd);
  });

  it('a reader that goes away at once (`| true`) ends no run with an EPIPE stack trace: the run keeps its own exit code', () => {
    const fixture = new URL('../../fixtures/bundles/plaintext-gateway-bff.bundle.json', import.meta.url).pathname;
    const { run: meta } = JSON.parse(readFileSync(fixture, 'utf8'));
    for (const [args, code] of [[['--help'], 0], [['analyze', fixture, '--verbose', '--now', meta.finishedAt], 1]] as const) {
      const line = `${[process.execPath, bin, ...args].map((a) => `'${a}'`).join(' ')} | true; echo "exit=\${PIPESTATUS[0]}" >&2`;
      const r = spawnSync('bash', ['-c', line], { encoding: 'utf8' });
      expect(r.stderr, args.join(' ')).toBe(`exit=${code}\n`);
    }
  });

  it('turns an unknown command into a usage error (exit 2) without a stack trace', () => {
    const r = run('no-such-command');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'no-such-command'");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
