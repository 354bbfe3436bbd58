import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitShortOptionValues } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli-in-process.js';

const bin = new URL('../../bin/mesh-verify.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mv-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Issue 9 D8: what a first-time user typed and the CLI refused, ignored or meant two ways. */
describe('flags as a kubectl user types them', () => {
  it('-o=json is accepted as kubectl accepts it (commander alone took "=json" as the format)', async () => {
    expect(splitShortOptionValues(['path', '-o=json', '-n=a,b', '--output=x', '--', '-o=y'])).toEqual(['path', '-o', 'json', '-n', 'a,b', '--output=x', '--', '-o=y']);
    const r = await runCli('path', '--lab', '--requests', '2', '-q', '-o=json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).overall).toBe('proven');
  });

  it('--keep with --lab is refused with one line (the lab stops with the process: nothing could be kept)', async () => {
    const r = await runCli('path', '--lab', '--keep');
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--keep cannot be combined with --lab');
    expect(r.stderr).toContain('mesh-verify lab up');
  });

  it('--tls-groups / --tls-ciphers / --mesh-config / --apply that cannot be used: one line naming the flag and the fix, exit 2, before any work', async () => {
    // A group no OpenSSL has (whether X25519MLKEM768 is refused depends on the Node: test/path/options.test.ts).
    const groups = await runCli('path', '--lab', '--tls-groups', 'P-256:P-999');
    expect([groups.status, groups.stderr.trimEnd().split('\n').length]).toEqual([2, 1]);
    expect(groups.stderr).toMatch(/--tls-groups: this client \(Node [\d.]+, OpenSSL [^)]+\) cannot offer "P-999".*--tls-groups P-256:P-384/);
    const ciphers = await runCli('path', '--tls-ciphers', 'NOPE-CIPHER');
    expect([ciphers.status, ciphers.stderr.trimEnd().split('\n').length]).toEqual([2, 1]);
    expect(ciphers.stderr).toContain('--tls-ciphers: this client');
    const notMesh = join(dir, 'deployment.yaml');
    writeFileSync(notMesh, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n');
    const mesh = await runCli('path', '--lab', '--mesh-config', notMesh, '-q');
    expect([mesh.status, mesh.stderr.trimEnd().split('\n').length]).toEqual([2, 1]);
    expect(mesh.stderr).toMatch(/--mesh-config \S+deployment.yaml: is a Deployment object, not a mesh config.*IstioOperator/);
    expect(mesh.stderr).not.toContain('starting the lab');
    const notObjects = join(dir, 'list.yaml');
    writeFileSync(notObjects, '- a\n- b\n');
    const applied = await runCli('path', '--lab', '--apply', notObjects, '-q');
    expect([applied.status, applied.stderr.trimEnd().split('\n').length]).toEqual([2, 1]);
    expect(applied.stderr).toMatch(/--apply \S+list.yaml: document 1 is not a Kubernetes object/);
  });

  it('--no-deploy with --lab works: the lab is verified as it started, nothing is applied', async () => {
    const kept = await runCli('path', '--lab', '--no-deploy', '--requests', '2', '-o', 'json');
    expect(kept.status).toBe(0);
    expect(kept.stderr).not.toContain('applying');
    expect(JSON.parse(kept.stdout).overall).toBe('proven');
    const deployed = await runCli('path', '--lab', '--requests', '2', '-o', 'json');
    expect(deployed.status).toBe(0);
    expect(deployed.stderr).toContain('applying');
  });

  it('--verbose means evidence detail only; --debug prints the stack trace of an error', () => {
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '');
    const verbose = spawnSync(process.execPath, [bin, '--verbose', 'analyze', empty], { encoding: 'utf8' });
    expect(verbose.status).toBe(2);
    expect(verbose.stderr).not.toMatch(/\n\s+at /);
    expect(verbose.stderr.trimEnd().split('\n')).toHaveLength(1);
    const debug = spawnSync(process.execPath, [bin, '--debug', 'analyze', empty], { encoding: 'utf8' });
    expect(debug.status).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' }).stdout;
    expect(help).toMatch(/--verbose\s+list every evidence item/);
    expect(help).toMatch(/--debug\s+print stack traces on errors/);
  });
});
