import { spawn } from 'node:child_process';
import { EnvironmentError } from '../core/errors.js';

/**
 * The one place mesh-verify starts external programs (kind, istioctl, docker). Tests replace it
 * with setProcessRunner() to fake those tools.
 */
export interface RunResult {
  /** Exit code (null when killed by a signal or the time bound). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with each stderr/stdout line as it arrives (progress of long commands). */
  onLine?: (line: string) => void;
}

export type ProcessRunner = (command: string, args: string[], opts?: RunOptions) => Promise<RunResult>;

/** The program is not installed (spawn ENOENT). */
export class CommandNotFoundError extends Error {
  constructor(readonly command: string) {
    super(`${command}: command not found`);
    this.name = 'CommandNotFoundError';
  }
}

export const spawnProcessRunner: ProcessRunner = (command, args, opts = {}) => new Promise((resolve, reject) => {
  const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs);
  const lines = (sink: Buffer[]) => {
    let partial = '';
    return (chunk: Buffer) => {
      sink.push(chunk);
      if (!opts.onLine) return;
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) if (l.trim()) opts.onLine(l.trim());
    };
  };
  child.stdout.on('data', lines(out));
  child.stderr.on('data', lines(err));
  child.on('error', (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    reject(e.code === 'ENOENT' ? new CommandNotFoundError(command) : e);
  });
  child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
  });
});

let current: ProcessRunner = spawnProcessRunner;

/**
 * Run an external tool; when it is not installed, an EnvironmentError (exit 4) with one line
 * `<what> is not installed (not found on PATH)` and how to install it.
 */
export async function runTool(command: string, args: string[], opts: RunOptions & { what?: string; installHint: string }): Promise<RunResult> {
  try {
    return await current(command, args, opts);
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      throw new EnvironmentError(`${opts.what ?? command} is not installed (${command} not found on PATH)`, opts.installHint);
    }
    throw err;
  }
}

/** Replace the runner (tests); returns a function that restores the previous one. */
export function setProcessRunner(runner: ProcessRunner): () => void {
  const previous = current;
  current = runner;
  return () => { current = previous; };
}

/** The last non-empty line of a command's stderr (or stdout): what to show in an error. */
export function lastLine(r: RunResult): string {
  const lines = (r.stderr.trim() || r.stdout.trim()).split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? `exit code ${r.code}`;
}
