import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The file in each of the lab's temporary directories that names the process owning it. */
const OWNER_FILE = '.mesh-verify-owner';

/** A process's start time (field 22 of /proc/<pid>/stat), so that a reused pid is not taken for the owner; null: no such process. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Remove the lab's temporary directories in TMPDIR whose owner is gone: a lab killed outright
 * (SIGKILL) cannot remove its own, while its processes die with it (spawnOwned). Only directories
 * that carry the owner file are touched; a live owner's are left alone. Linux only (/proc).
 * startKubeLab calls it once per lab start.
 */
export function sweepOrphanedLabDirs(dir = tmpdir()): string[] {
  if (process.platform !== 'linux') return [];
  const removed: string[] = [];
  let entries: string[];
  try { entries = readdirSync(dir).filter((e) => e.startsWith('mesh-verify-')); } catch { return []; }
  for (const e of entries) {
    let owner: { pid: number; start: string };
    try { owner = JSON.parse(readFileSync(join(dir, e, OWNER_FILE), 'utf8')) as { pid: number; start: string }; } catch { continue; }
    if (!ownerIsGone(owner)) continue;
    rmSync(join(dir, e), { recursive: true, force: true });
    removed.push(join(dir, e));
  }
  return removed;
}

/** This process as the owner of what the lab leaves on the machine (a pid and its start time). */
export function currentOwner(): { pid: number; start: string | null } {
  return { pid: process.pid, start: startTime(process.pid) };
}

/** Whether the process an owner record names has ended (a reused pid has another start time). */
export function ownerIsGone(owner: { pid?: unknown; start?: unknown }): boolean {
  return typeof owner.pid === 'number' && startTime(owner.pid) !== owner.start;
}

/** A new temporary directory of the lab (`<TMPDIR>/<prefix>XXXXXX`) that names this process as its owner. */
export function labTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(currentOwner()));
  return dir;
}
