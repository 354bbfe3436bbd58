import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { EnvironmentError } from '../core/errors.js';
import { formatBytes, formatMs, limit, type LimitName } from './limits.js';

/**
 * One HTTP(S) request with three deadlines and a size limit (src/cluster/limits.ts):
 * - connect: the TCP connection (and the TLS handshake) is up;
 * - headers: the response headers have arrived, counted from the start;
 * - total: the whole body has arrived, counted from the start (a server that drips one byte at a
 *   time ends here; Node's `req.setTimeout` is an idle timeout and never fires on a drip).
 * The body is read as it streams and the request is destroyed as soon as it passes `maxBytes`,
 * so a 1 GB answer costs at most `maxBytes` of memory. Every timer is ref'd: a pending request
 * keeps the process alive until it settles or its deadline fires.
 */
export interface BoundedRequestOptions {
  /** What is requested, for messages: `GET /api/v1/pods`. */
  what: string;
  /** Where, for messages: `Kubernetes API https://10.0.0.1:6443`. */
  where: string;
  body?: string | Buffer;
  /** Deadlines in ms (defaults: the API_* limits). */
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  totalTimeoutMs?: number;
  /** Largest body read (default: the limit of this kind of API request, apiResponseLimit); `maxBytesLimit` names the limit. */
  maxBytes?: number;
  maxBytesLimit?: LimitName;
  signal?: AbortSignal;
}

export interface BoundedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A deadline passed: which one, after how long. Not an EnvironmentError: callers decide. */
export class DeadlineError extends Error {
  readonly code = 'MESH_VERIFY_DEADLINE';
  constructor(readonly phase: 'connect' | 'headers' | 'body', readonly ms: number, message: string) {
    super(message);
    this.name = 'DeadlineError';
  }
}

/** An answer larger than its limit: always exit 4, naming the endpoint and the limit. */
export class ResponseTooLargeError extends EnvironmentError {
  constructor(readonly what: string, readonly where: string, readonly maxBytes: number, readonly limitName: LimitName) {
    super(`${where}: ${what}: the answer is larger than the limit of ${formatBytes(maxBytes)} (${limitName}); reading stopped there`,
      `check what answers at this address; if such answers are expected, raise the limit with MESH_VERIFY_${limitName}=BYTES`);
    this.name = 'ResponseTooLargeError';
  }
}

/** A deadline message: `no response headers within 20 s`. */
function deadlineText(phase: DeadlineError['phase'], ms: number): string {
  if (phase === 'connect') return `no connection within ${formatMs(ms)}`;
  if (phase === 'headers') return `no response headers within ${formatMs(ms)}`;
  return `the whole answer did not arrive within ${formatMs(ms)}`;
}

/** The limit named in a DeadlineError of this phase. */
export function deadlineLimit(phase: DeadlineError['phase']): LimitName {
  return phase === 'connect' ? 'API_CONNECT_TIMEOUT_MS' : phase === 'headers' ? 'API_HEADERS_TIMEOUT_MS' : 'API_REQUEST_TIMEOUT_MS';
}

/**
 * Which size limit an API request's answer has: a GET of a collection (`/api/v1/pods`,
 * `/apis/apps/v1/namespaces/NS/deployments`) is a list (API_LIST_PAGE_MAX_BYTES); a named
 * object, /version, discovery and every other method answer one object (API_OBJECT_MAX_BYTES).
 * A server URL with a path of its own (`https://host/k8s/clusters/c-1`) keeps it in front.
 */
export function apiResponseLimit(method: string, pathname: string): LimitName {
  if (method.toUpperCase() !== 'GET') return 'API_OBJECT_MAX_BYTES';
  const m = /\/(?:api\/[^/]+|apis\/[^/]+\/[^/]+)\/(.+)$/.exec(pathname);
  if (!m) return 'API_OBJECT_MAX_BYTES';
  let rest = m[1].split('/').filter(Boolean);
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  return rest.length === 1 ? 'API_LIST_PAGE_MAX_BYTES' : 'API_OBJECT_MAX_BYTES';
}

export function boundedRequest(url: URL | string, options: http.RequestOptions, o: BoundedRequestOptions): Promise<BoundedResponse> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const connectMs = o.connectTimeoutMs ?? limit('API_CONNECT_TIMEOUT_MS');
  const totalMs = o.totalTimeoutMs ?? limit('API_REQUEST_TIMEOUT_MS');
  const headersMs = Math.min(o.headersTimeoutMs ?? limit('API_HEADERS_TIMEOUT_MS'), totalMs);
  const maxBytesLimit = o.maxBytesLimit ?? apiResponseLimit(options.method ?? 'GET', target.pathname);
  const maxBytes = o.maxBytes ?? limit(maxBytesLimit);
  const mod = target.protocol === 'https:' || target.protocol === 'wss:' ? https : http;
  return new Promise<BoundedResponse>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const done = (err: Error | null, value?: BoundedResponse) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(value as BoundedResponse);
    };
    const deadline = (phase: DeadlineError['phase'], ms: number) =>
      setTimeout(() => done(new DeadlineError(phase, ms, deadlineText(phase, ms))), ms);
    const onAbort = () => done(o.signal?.reason instanceof Error ? o.signal.reason : new Error('aborted'));
    const req = mod.request(target, options, (res) => {
      clearTimeout(headersTimer);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          done(new ResponseTooLargeError(o.what, o.where, maxBytes, maxBytesLimit));
          res.destroy();
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => done(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e) => done(e));
      res.on('aborted', () => done(new Error('the server closed the connection before the whole answer arrived')));
    });
    const connectTimer = deadline('connect', connectMs);
    const headersTimer = deadline('headers', headersMs);
    timers.push(connectTimer, headersTimer, deadline('body', totalMs));
    req.on('socket', (socket: Duplex & { connecting?: boolean; encrypted?: boolean }) => {
      // A kept-alive socket (or a port-forward stream) is already connected; a new one is up after TCP (and TLS).
      if (socket.connecting !== true) { clearTimeout(connectTimer); return; }
      socket.once(socket.encrypted ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (e) => done(e));
    if (o.signal) {
      if (o.signal.aborted) { onAbort(); return; }
      o.signal.addEventListener('abort', onAbort, { once: true });
    }
    req.end(o.body);
  });
}
