import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/**
 * The one error type the CLI funnel knows how to print: a one-line message naming the thing,
 * an optional fix, and the exit code. Anything else reaching the funnel is an internal error.
 */
export class MeshVerifyError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly fix?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line or bad input file (exit 2). */
export class UsageError extends MeshVerifyError {
  constructor(message: string, fix?: string, options?: { cause?: unknown }) {
    super(message, ExitCode.USAGE, fix, options);
  }
}

/** A file or document that cannot be used as given (exit 2). */
export class InputError extends MeshVerifyError {
  constructor(readonly file: string, problem: string, fix?: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, ExitCode.USAGE, fix, options);
  }
}

/** Docker, kind, istioctl, kubeconfig, cluster reachability or rights (exit 4). */
export class EnvironmentError extends MeshVerifyError {
  constructor(message: string, fix?: string, options?: { cause?: unknown }) {
    super(message, ExitCode.ENVIRONMENT, fix, options);
  }
}

/** Longest error line printed (a message quoting a huge value is cut). */
const MAX_ERROR_CHARS = 2000;

/**
 * Make text safe for one terminal line: line breaks become spaces, and control characters (C0,
 * DEL, C1 such as the CSI that starts a terminal escape sequence, bidi overrides, line/paragraph
 * separators) are shown as `\uXXXX` instead of being sent to the terminal.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/\r\n|[\r\n]/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > MAX_ERROR_CHARS ? `${safe.slice(0, MAX_ERROR_CHARS)}…` : safe;
}

/** One line for the terminal: `message (fix: ...)`, without raw control bytes. */
export function formatError(err: MeshVerifyError): string {
  return oneLine(err.fix ? `${err.message} (fix: ${err.fix})` : err.message);
}
