import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findEnvoy, pinnedEnvoyVersion } from '../../src/lab/envoy/binary.js';
import { EnvironmentError } from '../../src/core/errors.js';

function fakeExecutable(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
  return p;
}

describe('finding the Envoy binary: --envoy, MESH_VERIFY_ENVOY, the cache, then PATH', () => {
  const root = mkdtempSync(join(tmpdir(), 'mv-find-envoy-'));
  const cache = join(root, 'cache');
  const cached = fakeExecutable(join(cache, 'envoy', pinnedEnvoyVersion(), 'bin'), 'envoy');
  const onPath = fakeExecutable(join(root, 'bin'), 'envoy');
  const viaEnv = fakeExecutable(join(root, 'env'), 'envoy');
  const explicit = fakeExecutable(join(root, 'flag'), 'envoy');
  const base = { MESH_VERIFY_CACHE: cache, PATH: join(root, 'bin') };

  it('takes each source in order', () => {
    expect(findEnvoy(explicit, { ...base, MESH_VERIFY_ENVOY: viaEnv })).toEqual({ path: explicit, source: '--envoy' });
    expect(findEnvoy(undefined, { ...base, MESH_VERIFY_ENVOY: viaEnv })).toEqual({ path: viaEnv, source: 'MESH_VERIFY_ENVOY' });
    expect(findEnvoy(undefined, base)).toEqual({ path: cached, source: 'cache' });
    expect(findEnvoy(undefined, { ...base, MESH_VERIFY_CACHE: join(root, 'none') })).toEqual({ path: onPath, source: 'PATH' });
  });

  it('names the install command when none is there, and a bad --envoy or MESH_VERIFY_ENVOY (environment errors, exit 4)', () => {
    const none = { MESH_VERIFY_CACHE: join(root, 'none'), PATH: join(root, 'empty') };
    expect(() => findEnvoy(undefined, none)).toThrow(EnvironmentError);
    expect(() => findEnvoy(undefined, none)).toThrow(/found none/);
    expect(() => findEnvoy(join(root, 'missing'), none)).toThrow(/--envoy .* is not an executable file/);
    expect(() => findEnvoy(undefined, { ...none, MESH_VERIFY_ENVOY: join(root, 'missing') })).toThrow(/MESH_VERIFY_ENVOY=.* is not an executable file/);
  });

  it('path --lab without Envoy exits 4 with one line giving the install command', () => {
    const bin = fileURLToPath(new URL('../../bin/mesh-verify.js', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'path', '--lab', '-q'], {
      encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, MESH_VERIFY_CACHE: join(root, 'none'), MESH_VERIFY_ENVOY: '', PATH: join(root, 'empty') },
    });
    expect(r.status).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/the lab needs Envoy \d+\.\d+\.\d+ and found none \(fix: npm run setup/);
    rmSync(root, { recursive: true, force: true });
  });
});
