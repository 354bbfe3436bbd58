import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labTempDir, sweepOrphanedLabDirs } from '../../src/lab/lab-dirs.js';

const root = mkdtempSync(join(tmpdir(), 'mv-lab-dirs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the lab\'s temporary directories name their owner; those of a dead owner are swept', () => {
  it('removes a directory whose owner is gone (or whose pid now belongs to another process), and nothing else', () => {
    // A pid that no process has any more: a child that has exited and been reaped.
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout.trim());
    const make = (name: string, owner: unknown) => {
      mkdirSync(join(root, name));
      if (owner !== undefined) writeFileSync(join(root, name, '.mesh-verify-owner'), JSON.stringify(owner));
    };
    const own = JSON.parse(readFileSync(join(labTempDirIn(root, 'mesh-verify-live-'), '.mesh-verify-owner'), 'utf8')) as { pid: number; start: string };
    expect(own.pid).toBe(process.pid);
    make('mesh-verify-kube-dead', { pid: deadPid, start: '1' });
    make('mesh-verify-kube-reused', { pid: process.pid, start: 'not this process' });
    make('mesh-verify-bench-unowned', undefined);
    make('someone-else', { pid: deadPid, start: '1' });
    const removed = sweepOrphanedLabDirs(root).map((d) => d.slice(root.length + 1)).sort();
    expect(removed).toEqual(['mesh-verify-kube-dead', 'mesh-verify-kube-reused']);
    expect(existsSync(join(root, 'mesh-verify-bench-unowned'))).toBe(true);
    expect(existsSync(join(root, 'someone-else'))).toBe(true);
    expect(sweepOrphanedLabDirs(root)).toEqual([]); // the live owner's directory stays
  });
});

/** labTempDir under `dir` (it follows TMPDIR, as tmpdir() does). */
function labTempDirIn(dir: string, prefix: string): string {
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try { return labTempDir(prefix); } finally { if (before === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = before; }
}
