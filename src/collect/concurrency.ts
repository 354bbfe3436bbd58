/** Bounds for collection: how long each may take (how many at once: src/util/map-limit.ts). */
/** Reject with `what` timed out after `ms` when `p` has not settled by then. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // Not unref'd: this deadline keeps the process alive until it fires, so an operation that
    // never settles ends as a timeout instead of letting Node exit (with code 0) mid-run.
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
