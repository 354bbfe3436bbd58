/**
 * Every size limit and timeout of mesh-verify's network reads, in one place (README: "Limits and
 * timeouts"). A hostile or broken server (one that stalls, drips a byte at a time, sends an
 * endless body or endless `continue` pages) ends a command within these bounds with exit 4 and
 * one line naming the endpoint and the limit, instead of hanging or growing without end.
 *
 * Each value can be lowered (or raised) with an environment variable `MESH_VERIFY_<NAME>` (e.g.
 * `MESH_VERIFY_API_REQUEST_TIMEOUT_MS=3000`), which the tests use to keep hostile-server cases short.
 */

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS = {
  /** TCP (and TLS) connection to the API server established. */
  API_CONNECT_TIMEOUT_MS: 10_000,
  /** The API server's response headers, counted from the start of the request. */
  API_HEADERS_TIMEOUT_MS: 20_000,
  /** One whole API request, body included (a server that drips one byte at a time ends here). */
  API_REQUEST_TIMEOUT_MS: 30_000,
  /** GET /version when connecting (reachability check): the whole request. */
  API_VERSION_TIMEOUT_MS: 10_000,
  /**
   * One API answer that is not a list: /version, one object (etcd stores at most 1.5 MiB of
   * one), a SelfSubjectAccessReview, the answer to an apply.
   */
  API_OBJECT_MAX_BYTES: 4 * MiB,
  /** One list answer: one page (500 items) of a paginated list, or a list read whole. */
  API_LIST_PAGE_MAX_BYTES: 32 * MiB,
  /** A paginated list (limit/continue), all its pages together. */
  API_LIST_MAX_BYTES: 256 * MiB,
  /** Pages of one paginated list (500 items each: 1,000,000 objects). */
  API_LIST_MAX_PAGES: 2_000,
  /**
   * `audit`: list pages read at once (pods, services, policies, in each namespace asked for). Each
   * may hold up to API_LIST_PAGE_MAX_BYTES while it is read: together, the most memory a server can
   * make the inventory hold.
   */
  API_LIST_PAGES_AT_ONCE: 2,
  /** `path`: opening a proxy's admin port (port-forward) and each admin GET, whole answer included. */
  ADMIN_REQUEST_TIMEOUT_MS: 10_000,
  /** `path`: one read of a proxy's container log. */
  LOG_READ_TIMEOUT_MS: 15_000,
  /** One Envoy admin answer through port-forward or exec (a full config dump with EDS is the largest). */
  ADMIN_RESPONSE_MAX_BYTES: 128 * MiB,
  /** One container log read (since the run started). */
  LOG_MAX_BYTES: 32 * MiB,
} as const;

export type LimitName = keyof typeof DEFAULT_LIMITS;

/** The value in effect: `MESH_VERIFY_<NAME>` when it is a positive integer, else the default. */
export function limit(name: LimitName): number {
  const raw = process.env[`MESH_VERIFY_${name}`];
  if (raw !== undefined && /^\d+$/.test(raw.trim())) {
    const n = Number(raw.trim());
    if (n > 0) return n;
  }
  return DEFAULT_LIMITS[name];
}

/** `64 MiB`, `512 KiB`, `300 bytes`: for messages naming a size limit. */
export function formatBytes(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** `30 s`, `1.5 s`, `800 ms`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${ms} ms`;
}
