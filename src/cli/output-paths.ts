import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';

/**
 * Output options are checked before any work, so that a mistake is one line and exit 2 instead
 * of an internal error after a whole run (and a lost report).
 */

async function kindOf(path: string): Promise<'file' | 'directory' | 'other' | null> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'directory' : s.isFile() ? 'file' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    // ENOTDIR: a parent is a file.
    if (code === 'ENOTDIR') return 'other';
    throw err;
  }
}

async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A file mesh-verify will write (`--bundle`, `--kubeconfig-out`): its directory must exist and be writable. */
export async function checkOutputFile(option: string, file: string): Promise<void> {
  if (file.trim() === '') throw new UsageError(`${option} needs a file name`);
  const kind = await kindOf(file);
  if (kind === 'directory') throw new UsageError(`${option} ${file} is a directory, not a file`, `name a file, e.g. ${option} ${file.replace(/\/+$/, '')}/out`);
  if (kind === 'other') throw new UsageError(`${option} ${file} cannot be written (a part of the path is not a directory, or it is not a regular file)`, 'choose another path');
  const dir = dirname(resolve(file));
  const dirKind = await kindOf(dir);
  if (dirKind === null) throw new UsageError(`${option} ${file}: directory ${dirname(file)} does not exist`, `create it (mkdir -p ${dirname(file)}) or choose another path`);
  if (dirKind !== 'directory') throw new UsageError(`${option} ${file}: ${dirname(file)} is not a directory`, 'choose another path');
  if (!(await writable(dir))) throw new UsageError(`${option} ${file}: directory ${dirname(file)} is not writable`, 'choose a directory you can write to');
}

/** A directory mesh-verify will write into (`--report-dir`): created if missing, never a file. */
export async function checkOutputDir(option: string, dir: string): Promise<void> {
  if (dir.trim() === '') throw new UsageError(`${option} needs a directory name`);
  const kind = await kindOf(dir);
  if (kind === 'file' || kind === 'other') throw new UsageError(`${option} ${dir} exists and is not a directory`, `choose a directory (created if missing), e.g. ${option} ${dir}.d`);
  if (kind === 'directory') {
    if (!(await writable(resolve(dir)))) throw new UsageError(`${option} ${dir} is not writable`, 'choose a directory you can write to');
    return;
  }
  // Missing: it is created, so the nearest existing ancestor must be a writable directory.
  let up = dirname(resolve(dir));
  for (;;) {
    const k = await kindOf(up);
    if (k === 'directory') break;
    if (k !== null) throw new UsageError(`${option} ${dir} cannot be created: ${up} is not a directory`, 'choose another path');
    const next = dirname(up);
    if (next === up) break;
    up = next;
  }
  if (!(await writable(up))) throw new UsageError(`${option} ${dir} cannot be created: ${up} is not writable`, 'choose a directory you can write to');
}
