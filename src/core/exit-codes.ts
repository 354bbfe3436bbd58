/**
 * Exit codes, the same for every command (documented in README.md).
 */
export const ExitCode = {
  /** Everything proven / no error-level finding. */
  OK: 0,
  /** Something contradicted / findings. */
  CONTRADICTED: 1,
  /** Usage error or bad input (file missing, not JSON, wrong schema...). */
  USAGE: 2,
  /** Inconclusive or partial: not enough evidence, or some proxies could not be read. */
  INCONCLUSIVE: 3,
  /** Environment: Docker, kind, istioctl, kubeconfig, cluster unreachable, missing rights. */
  ENVIRONMENT: 4,
  /** A bug in mesh-verify itself (never expected). */
  INTERNAL: 70,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
