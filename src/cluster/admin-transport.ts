import http from 'node:http';
import type { Duplex } from 'node:stream';
import { EnvironmentError } from '../core/errors.js';
import { ResponseTooLargeError, boundedRequest } from './bounded-http.js';
import { limit } from './limits.js';
import { ENVOY_ADMIN_PORT } from '../topology/reference.js';
import { execInPod } from './exec-in-pod.js';
import type { KubeClients } from './kube-client.js';
import { openForwardedSocket, upgradeStatus, type ForwardedSocket } from './port-forward-server.js';
import { SIDECAR_CONTAINER } from './pod-status.js';

/** How the collector reaches a proxy's Envoy admin port: one plain GET at a time. */
export interface AdminTransport {
  via: 'port-forward' | 'exec';
  get(path: string, opts?: { timeoutMs?: number }): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
  /** Why port-forward was not used (set when via is 'exec'). */
  fallbackReason?: string;
}

export interface AdminTransportOptions {
  /** Admin port in the pod (default 15000). */
  port?: number;
  container?: typeof SIDECAR_CONTAINER;
  /** Fall back to `pilot-agent request` via exec when port-forward is refused (default true). */
  allowExec?: boolean;
  /** Bound for opening the transport (default 10 s). */
  timeoutMs?: number;
}

type Pod = { namespace: string; name: string };

const DEFAULT_GET_TIMEOUT_MS = 15_000;

/**
 * Reach a pod's Envoy admin port: a Kubernetes port-forward behind a local socket server, with
 * keep-alive HTTP GETs to it; when the API server refuses the port-forward (e.g. no
 * `pods/portforward` right) and exec is allowed, `pilot-agent request GET <path>` in istio-proxy.
 */
export async function openAdminTransport(clients: KubeClients, pod: Pod, opts: AdminTransportOptions = {}): Promise<AdminTransport> {
  const port = opts.port ?? ENVOY_ADMIN_PORT;
  const container = opts.container ?? SIDECAR_CONTAINER;
  const allowExec = opts.allowExec ?? true;
  const timeoutMs = opts.timeoutMs ?? limit('ADMIN_REQUEST_TIMEOUT_MS');
  const where = `${pod.namespace}/${pod.name}:${port}`;
  let lastError: string | null = null;
  const open = () => openForwardedSocket(clients, pod, port, timeoutMs, (t) => { lastError = t; });
  let first: ForwardedSocket;
  try {
    // The first real stream doubles as the probe: no extra port-forward just to test the right.
    first = await open();
  } catch (err) {
    const status = upgradeStatus(err);
    const reason = `port-forward to ${where} refused${status ? ` (HTTP ${status})` : ''}: ${(err as Error).message}`;
    if (!allowExec) {
      throw new EnvironmentError(reason, status === 403 ? 'grant get and create on pods/portforward, or allow the exec fallback' : 'check that the pod exists and is running', { cause: err });
    }
    return await openExecTransport(clients, pod, container, port, reason, timeoutMs);
  }
  return portForwardTransport(first, open, () => lastError, where);
}

/**
 * A keep-alive agent over port-forward streams (no local port): its first connection is the
 * stream already opened (and proven) by openAdminTransport; should the pod close it, the next
 * request opens another stream.
 */
class ForwardAgent extends http.Agent {
  constructor(private first: ForwardedSocket | null, private readonly open: () => Promise<ForwardedSocket>) {
    super({ keepAlive: true, maxSockets: 1 });
  }

  override createConnection(_options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const s = this.first;
    this.first = null;
    if (s && !s.destroyed) return s;
    this.open().then((fresh) => callback?.(null, fresh), (err: Error) => callback?.(err, undefined as never));
    return undefined;
  }

  override destroy(): void {
    this.first?.destroy();
    this.first = null;
    super.destroy();
  }
}

function portForwardTransport(first: ForwardedSocket, open: () => Promise<ForwardedSocket>, lastError: () => string | null, where: string): AdminTransport {
  const agent = new ForwardAgent(first, open);
  return {
    via: 'port-forward',
    async get(path, o = {}) {
      // The whole GET (a new stream, headers, body) within timeoutMs; the body within ADMIN_RESPONSE_MAX_BYTES.
      const timeoutMs = o.timeoutMs ?? DEFAULT_GET_TIMEOUT_MS;
      try {
        const res = await boundedRequest(`http://127.0.0.1${path}`, { agent, headers: { accept: '*/*' } }, {
          what: `GET ${path.split('?')[0]}`, where: `Envoy admin ${where} via port-forward`,
          connectTimeoutMs: timeoutMs, headersTimeoutMs: timeoutMs, totalTimeoutMs: timeoutMs,
          maxBytes: limit('ADMIN_RESPONSE_MAX_BYTES'), maxBytesLimit: 'ADMIN_RESPONSE_MAX_BYTES',
        });
        return { status: res.status, body: res.body.toString('utf8') };
      } catch (err) {
        if (err instanceof ResponseTooLargeError) throw err;
        throw getError(where, path, err as Error, lastError());
      }
    },
    async close() {
      agent.destroy();
    },
  };
}

function getError(where: string, path: string, err: Error, forwardError: string | null): Error {
  return new Error(`GET ${path} on ${where} via port-forward failed: ${err.message}${forwardError ? ` (${forwardError})` : ''}`, { cause: err });
}

/**
 * Map `pilot-agent request` results back to HTTP (istio pilot/pkg/request/command.go): it prints
 * the body (plus a newline) and exits 0 for status < 400 and for 404; for other statuses >= 400
 * it exits non-zero with "received unsuccessful status code N: body" on stderr. A 404 is
 * therefore recognised by Envoy's own 404 texts: "invalid path. ..." (unknown admin path) and
 * "<field> not found in config dump" (`/config_dump?resource=` naming no dump field,
 * source/server/admin/config_dump_handler.cc).
 */
export function parsePilotAgentResult(exitCode: number | null, stdout: string, stderr: string): { status: number; body: string } | null {
  if (exitCode === 0) {
    const body = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
    const notFound = body.startsWith('invalid path.') || /^\w+ not found in config dump$/.test(body.trim());
    return { status: notFound ? 404 : 200, body };
  }
  const m = /received unsuccessful status code (\d{3}): ?([\s\S]*)$/.exec(stderr);
  if (m) return { status: Number(m[1]), body: m[2].replace(/\n$/, '') };
  return null;
}

async function openExecTransport(clients: KubeClients, pod: Pod, container: string, port: number, fallbackReason: string,
  timeoutMs: number): Promise<AdminTransport> {
  const where = `${pod.namespace}/${pod.name} (${container})`;
  const command = (path: string) => port === ENVOY_ADMIN_PORT
    ? ['pilot-agent', 'request', 'GET', path]
    : ['pilot-agent', 'request', '--debug-port', String(port), 'GET', path];
  const run = async (path: string, t: number) => {
    let r;
    try {
      r = await execInPod(clients, pod, container, command(path), { timeoutMs: t, maxBytes: limit('ADMIN_RESPONSE_MAX_BYTES') });
    } catch (err) {
      if (err instanceof ResponseTooLargeError) throw err;
      const status = upgradeStatus(err);
      throw new EnvironmentError(`exec into ${where} refused${status ? ` (HTTP ${status})` : ''} after ${fallbackReason}`,
        status === 403 ? 'grant get and create on pods/portforward (or pods/exec) to this context' : undefined, { cause: err });
    }
    const parsed = parsePilotAgentResult(r.exitCode, r.stdout, r.stderr);
    if (!parsed) {
      throw new Error(`pilot-agent request GET ${path} in ${where} failed (exit ${r.exitCode ?? 'unknown'}): ${r.stderr.trim().split('\n')[0] || 'no output'}`);
    }
    return parsed;
  };
  // Fail now, with one clear error, if exec is refused too.
  try {
    await run('/ready', timeoutMs);
  } catch (err) {
    if (err instanceof EnvironmentError) throw err;
    throw new EnvironmentError(`${(err as Error).message} (after ${fallbackReason})`,
      'check that the pod runs an istio-proxy container with pilot-agent', { cause: err });
  }
  return {
    via: 'exec',
    fallbackReason,
    get: (path, o = {}) => run(path, o.timeoutMs ?? DEFAULT_GET_TIMEOUT_MS),
    close: async () => {},
  };
}
