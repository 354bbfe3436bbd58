/**
 * Progress output for long commands (path, up, down, audit, lab).
 * - On a TTY (and CI unset): ora spinners, one step at a time.
 * - Otherwise (pipes, CI=true): plain timestamped lines, one per state change.
 * - quiet: nothing but what the caller prints itself.
 * Always writes to stderr so that stdout stays machine-readable (-o json).
 */
export interface Progress {
  /** Start a step; returns a handle to finish it. */
  step(text: string): ProgressStep;
  /** A standalone informational line. */
  info(text: string): void;
  warn(text: string): void;
}

export interface ProgressStep {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  /** Finished but not a success (e.g. skipped). */
  skip(text?: string): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
  /** Force plain output (default: plain unless stream is a TTY and CI is unset). */
  plain?: boolean;
  now?: () => Date;
}

export async function createProgress(opts: ProgressOptions = {}): Promise<Progress> {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return silentProgress;
  const plain = opts.plain ?? (!stream.isTTY || isCi());
  if (plain) return plainProgress((line) => stream.write(line + '\n'), opts.now ?? (() => new Date()));
  const { default: ora } = await import('ora');
  return {
    step(text) {
      const spinner = ora({ text, stream }).start();
      return {
        update: (t) => { spinner.text = t; },
        succeed: (t) => { spinner.succeed(t ?? spinner.text); },
        fail: (t) => { spinner.fail(t ?? spinner.text); },
        skip: (t) => { spinner.info(t ?? spinner.text); },
      };
    },
    info: (text) => { stream.write(`  ${text}\n`); },
    warn: (text) => { stream.write(`! ${text}\n`); },
  };
}

export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function plainProgress(write: (line: string) => void, now: () => Date = () => new Date()): Progress {
  const ts = () => now().toISOString();
  return {
    step(text) {
      write(`${ts()} ... ${text}`);
      let current = text;
      return {
        update: (t) => { current = t; write(`${ts()} ... ${t}`); },
        succeed: (t) => { write(`${ts()} ok  ${t ?? current}`); },
        fail: (t) => { write(`${ts()} ERR ${t ?? current}`); },
        skip: (t) => { write(`${ts()} --  ${t ?? current}`); },
      };
    },
    info: (text) => write(`${ts()}     ${text}`),
    warn: (text) => write(`${ts()} !   ${text}`),
  };
}

const noopStep: ProgressStep = { update() {}, succeed() {}, fail() {}, skip() {} };
export const silentProgress: Progress = { step: () => noopStep, info() {}, warn() {} };
