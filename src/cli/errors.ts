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

/** One line for the terminal: `message (fix: ...)`. */
export function formatError(err: MeshVerifyError): string {
  return err.fix ? `${err.message} (fix: ${err.fix})` : err.message;
}
