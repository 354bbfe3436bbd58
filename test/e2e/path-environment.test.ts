import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli-in-process.js';

const bin = new URL('../../bin/mesh-verify.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], {
  encoding: 'utf8', env: { ...process.env, CI: 'true', KUBECONFIG: '' }, timeout: 30_000,
});

let dir: string;
let kubeconfig: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mv-e2e-env-'));
  kubeconfig = join(dir, 'kubeconfig');
  // A cluster nobody listens on (a loopback port that is closed).
  await writeFile(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: dead',
    'clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1"}}]',
    'users: [{name: u, user: {token: not-a-secret}}]',
    'contexts: [{name: dead, context: {cluster: dead, user: u}}]', '',
  ].join('\n'));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

/** The error funnel's one line: `mesh-verify: <message> (fix: ...)`, no stack trace. */
function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.startsWith('mesh-verify: '));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('mesh-verify path: environment errors exit 4 with one line', () => {
  it('a kubeconfig that does not exist', () => {
    const r = run('path', '--kubeconfig', join(dir, 'missing'), '--no-deploy', '-q');
    expect(r.status).toBe(4);
    expectOneLine(r.stderr, /kubeconfig .*missing not found \(fix: /);
    expect(r.stdout).toBe('');
  });

  it('a context that is not in the kubeconfig', () => {
    const r = run('path', '--kubeconfig', kubeconfig, '--context', 'nope', '-q');
    expect(r.status).toBe(4);
    expectOneLine(r.stderr, /context "nope" is not in the kubeconfig \(known: dead\)/);
  });

  it('an API server that does not answer (in process)', async () => {
    const r = await runCli('path', '--kubeconfig', kubeconfig, '--no-deploy', '-q');
    expect(r.status).toBe(4);
    expectOneLine(r.stderr, /Kubernetes API https:\/\/127\.0\.0\.1:1 .*unreachable/);
  });

  it('down with an unknown context (in process)', async () => {
    const r = await runCli('down', '--kubeconfig', kubeconfig, '--context', 'nope', '-q');
    expect(r.status).toBe(4);
    expectOneLine(r.stderr, /context "nope" is not in the kubeconfig/);
  });
});

describe('mesh-verify path: usage errors exit 2 (in process)', () => {
  it.each([
    [['path', '--fault', 'expired-cert'], /--fault needs --lab/],
    [['path', '--lab', '--fault', 'no-such-fault'], /no-such-fault/],
    [['path', '--lab', '--context', 'x'], /--lab cannot be combined with --context/],
    [['path', '--requests', '0'], /--requests must be a whole number/],
  ])('%j', async (args, message) => {
    const r = await runCli(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
