import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import {
  AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, ResponseContext, ServerConfiguration, createConfiguration, wrapHttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';
import { EnvironmentError } from '../core/errors.js';
import { DeadlineError, boundedRequest, deadlineLimit } from './bounded-http.js';
import { limit, type LimitName } from './limits.js';

/**
 * The Kubernetes clients every cluster step uses, built from one kubeconfig and one context.
 * `server` is the API server URL without credentials (safe to put in a bundle).
 */
export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
  context: string;
  server: string;
  /** The API server's gitVersion, when connectKube read /version (undefined: not checked). */
  serverVersion?: string | null;
}

export interface ConnectOptions {
  /** Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config). */
  kubeconfig?: string;
  /** Context name (default: the kubeconfig's current context). */
  context?: string;
  /** Bound for the reachability check (GET /version). */
  timeoutMs?: number;
  /** Skip the reachability check (tests, or callers that check later). */
  skipVersionCheck?: boolean;
}

/** Load a kubeconfig and select a context, with one clear EnvironmentError for each way it fails. */
export function loadKubeConfig(opts: { kubeconfig?: string; context?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  const file = opts.kubeconfig ?? firstKubeconfigFromEnv();
  try {
    if (file) {
      if (!existsSync(file)) {
        throw new EnvironmentError(`kubeconfig ${file} not found`, 'pass --kubeconfig FILE or set KUBECONFIG to an existing file');
      }
      kc.loadFromFile(file);
    } else {
      const home = join(homedir(), '.kube', 'config');
      if (!existsSync(home) && !process.env.KUBERNETES_SERVICE_HOST) {
        throw new EnvironmentError(`no kubeconfig found (KUBECONFIG is unset and ${home} does not exist)`,
          'create a cluster (mesh-verify up) or pass --kubeconfig FILE');
      }
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof EnvironmentError) throw err;
    throw new EnvironmentError(`kubeconfig ${file ?? '~/.kube/config'} cannot be read: ${(err as Error).message}`,
      'check that it is a valid kubeconfig (kubectl config view)', { cause: err });
  }
  const names = kc.getContexts().map((c) => c.name);
  if (names.length === 0) {
    throw new EnvironmentError(`no kubeconfig found (or it has no contexts)${file ? `: ${file}` : ''}`,
      'create a cluster (mesh-verify up) or pass --kubeconfig FILE / --context NAME');
  }
  if (opts.context) {
    if (!names.includes(opts.context)) {
      throw new EnvironmentError(`context "${opts.context}" is not in the kubeconfig (known: ${names.join(', ')})`,
        'pass one of the known contexts with --context');
    }
    kc.setCurrentContext(opts.context);
  } else if (!kc.getCurrentContext() || !names.includes(kc.getCurrentContext())) {
    throw new EnvironmentError(`the kubeconfig has no current context (known: ${names.join(', ')})`,
      'pass --context NAME or run kubectl config use-context NAME');
  }
  if (!kc.getCurrentCluster()) {
    throw new EnvironmentError(`context "${kc.getCurrentContext()}" names a cluster that is not in the kubeconfig`,
      'fix the kubeconfig or choose another --context');
  }
  return kc;
}

function firstKubeconfigFromEnv(): string | undefined {
  const v = process.env.KUBECONFIG;
  if (!v) return undefined;
  return v.split(process.platform === 'win32' ? ';' : ':').find((f) => f.length > 0);
}

/** Build clients for a kubeconfig context and check that its API server answers GET /version. */
export async function connectKube(opts: ConnectOptions = {}): Promise<KubeClients> {
  const kc = loadKubeConfig(opts);
  const clients = clientsFor(kc);
  if (!opts.skipVersionCheck) clients.serverVersion = (await checkApiReachable(kc, opts.timeoutMs ?? limit('API_VERSION_TIMEOUT_MS'))).gitVersion;
  return clients;
}

export function clientsFor(kc: KubeConfig): KubeClients {
  const server = kc.getCurrentCluster()?.server ?? '';
  const objects = makeApiClient(kc, KubernetesObjectApi);
  // What KubernetesObjectApi.makeApiClient does after building the client (protected there).
  (objects as unknown as { setDefaultNamespace(k: KubeConfig): void }).setDefaultNamespace(kc);
  return {
    kc,
    core: makeApiClient(kc, CoreV1Api),
    apps: makeApiClient(kc, AppsV1Api),
    objects,
    context: kc.getCurrentContext(),
    server: stripCredentials(server),
  };
}

/**
 * A generated client-node API client (CoreV1Api, AuthorizationV1Api, ...) whose every request
 * is bounded (src/cluster/bounded-http.ts: connect, headers and whole-body deadlines, a size
 * limit): what `kc.makeApiClient` builds, with our HTTP library instead of node-fetch, which
 * has no deadline of its own and reads any body whole.
 */
export function makeApiClient<T>(kc: KubeConfig, apiClientType: new (config: ReturnType<typeof createConfiguration>) => T): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new EnvironmentError('no current cluster in the kubeconfig', 'pass --context NAME');
  const where = `Kubernetes API ${stripCredentials(cluster.server)}`;
  const httpApi = wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const url = new URL(request.getUrl());
      const method = request.getHttpMethod().toString();
      const body = request.getBody();
      const what = `${method} ${url.pathname}`;
      let res;
      try {
        res = await boundedRequest(url, { method, headers: request.getHeaders(), agent: request.getAgent() },
          { what, where, body: body === undefined ? undefined : String(body), signal: request.getSignal() });
      } catch (err) {
        throw transportError(err, where, what);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      return new ResponseContext(res.status, headers, { text: async () => res.body.toString('utf8'), binary: async () => res.body });
    },
  });
  const config = createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: kc }, httpApi });
  return new apiClientType(config);
}

/**
 * A request to the API server that failed in transport (no HTTP answer): a deadline that passed
 * or a size limit (EnvironmentErrors naming the request and the limit, exit 4), else the error
 * as it came (TLS and connection errors keep their code for describeConnectFailure).
 */
export function transportError(err: unknown, where: string, what: string): Error {
  if (err instanceof EnvironmentError) return err;
  if (err instanceof DeadlineError) {
    const name: LimitName = deadlineLimit(err.phase);
    return new EnvironmentError(`${where}: ${what}: ${err.message} (${name})`,
      'check that the server URL points at a healthy Kubernetes API server (kubectl get --raw /readyz); a proxy or load balancer in between may be stalling', { cause: err });
  }
  return err as Error;
}

function stripCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * The URL of an API path on a server URL that may itself have a path (Rancher-style
 * `https://host/k8s/clusters/c-1`): the server's path is kept, as client-node does
 * (`cluster.server + path`). `new URL('/version', server)` would drop it.
 */
export function apiUrl(server: string, path: string): URL {
  const base = new URL(server);
  const [pathname, query = ''] = path.split(/\?(.*)/s, 2);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/${pathname.replace(/^\/+/, '')}`;
  base.search = query ? `?${query}` : '';
  return base;
}

export interface ApiResponse {
  status: number;
  body: string;
}

/**
 * One raw request to the API server with the kubeconfig's credentials, bounded like every API
 * request (connect, headers, whole body, size: src/cluster/limits.ts). `timeoutMs` bounds the
 * whole request (default API_REQUEST_TIMEOUT_MS). Deadlines and size limits reject with an
 * EnvironmentError naming the request and the limit; connection and TLS errors as they came.
 */
export async function apiRequest(kc: KubeConfig, method: string, path: string,
  opts: { body?: unknown; timeoutMs?: number; contentType?: string; maxBytes?: number; maxBytesLimit?: LimitName; signal?: AbortSignal } = {}): Promise<ApiResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new EnvironmentError('no current cluster in the kubeconfig', 'pass --context NAME');
  const url = apiUrl(cluster.server, path);
  const options: https.RequestOptions = { method, headers: {} };
  await kc.applyToHTTPSOptions(options);
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  options.headers = { ...(options.headers as Record<string, string>), accept: 'application/json' };
  if (payload !== undefined) {
    (options.headers as Record<string, string>)['content-type'] = opts.contentType ?? 'application/json';
  }
  const where = `Kubernetes API ${stripCredentials(cluster.server)}`;
  const what = `${method} ${path.split('?')[0]}`;
  const totalTimeoutMs = opts.timeoutMs ?? limit('API_REQUEST_TIMEOUT_MS');
  try {
    const res = await boundedRequest(url, options, {
      what, where, body: payload, totalTimeoutMs, signal: opts.signal,
      ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
      ...(opts.maxBytesLimit !== undefined ? { maxBytesLimit: opts.maxBytesLimit } : {}),
    });
    return { status: res.status, body: res.body.toString('utf8') };
  } catch (err) {
    if (err instanceof DeadlineError) throw transportError(err, where, what);
    throw err;
  }
}

/** Node's codes for a peer certificate that does not chain to the CA we trust. */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED',
]);

/**
 * Why a connection to the API server failed, as one line and a fix: the TLS failures (an
 * untrusted certificate, a certificate for another host name, an expired one, a port that speaks
 * plain HTTP) each get their own words; only what is left is "unreachable".
 */
export function describeConnectFailure(err: unknown, where: { server: string; context: string; cluster?: string }): { message: string; fix: string } {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e?.code ?? '';
  const api = `Kubernetes API ${where.server} (context ${where.context})`;
  const host = (() => { try { return new URL(where.server).hostname; } catch { return where.server; } })();
  if (UNTRUSTED_CODES.has(code)) {
    return {
      message: `${api}: certificate not trusted (${code}): the server's certificate does not chain to the certificate-authority of the kubeconfig`,
      fix: `use the kubeconfig this cluster issued (its certificate-authority-data${where.cluster ? ` for cluster ${where.cluster}` : ''}), e.g. kind get kubeconfig --name NAME, or check that the server URL points at this cluster`,
    };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return {
      message: `${api}: the server's certificate is not valid for host ${host} (${e.reason ?? e.message})`,
      fix: 'use a server address the certificate names, or set tls-server-name for this cluster in the kubeconfig',
    };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return { message: `${api}: the server's certificate ${code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet'}`, fix: "renew the API server's certificate, or check this machine's clock" };
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long/i.test(e?.message ?? '')) {
    return {
      message: `${api}: the server does not speak TLS on this port (plain HTTP on an https:// URL?)`,
      fix: 'check the port of the server URL in the kubeconfig, or use http:// for a plain-HTTP endpoint such as kubectl proxy',
    };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return {
      message: `${api}: the server reset the connection (${code})`,
      fix: 'check that the server URL points at the API server itself; a proxy, firewall or load balancer in between may be dropping the connection',
    };
  }
  return {
    message: `${api} is unreachable: ${e?.message ?? String(err)}`,
    fix: 'start the cluster (mesh-verify up) or check --context / --kubeconfig',
  };
}

/** GET /version; EnvironmentError naming the server when it does not answer or rejects us. */
export async function checkApiReachable(kc: KubeConfig, timeoutMs = 10_000): Promise<{ gitVersion: string | null }> {
  const server = stripCredentials(kc.getCurrentCluster()?.server ?? '');
  let res: ApiResponse;
  try {
    res = await apiRequest(kc, 'GET', '/version', { timeoutMs });
  } catch (err) {
    // A deadline or size limit: already one line naming the request and the limit.
    if (err instanceof EnvironmentError) throw err;
    const d = describeConnectFailure(err, { server, context: kc.getCurrentContext(), cluster: kc.getCurrentCluster()?.name });
    throw new EnvironmentError(d.message, d.fix, { cause: err });
  }
  if (res.status === 400 && /HTTP request to an HTTPS server/i.test(res.body)) {
    // Go's net/http answers a plain request on a TLS port with this 400.
    throw new EnvironmentError(`Kubernetes API ${server} speaks HTTPS, but the kubeconfig's server URL says http://`,
      'change the server URL in the kubeconfig to https://');
  }
  if (res.status === 401 || res.status === 403) {
    throw new EnvironmentError(`Kubernetes API ${server} rejected our credentials (HTTP ${res.status} on /version)`,
      'refresh the kubeconfig credentials for this context');
  }
  if (res.status !== 200) {
    throw new EnvironmentError(`Kubernetes API ${server} answered HTTP ${res.status} on /version`,
      'check that the server URL in the kubeconfig points at a Kubernetes API server');
  }
  try {
    const v = JSON.parse(res.body) as { gitVersion?: string };
    return { gitVersion: v.gitVersion ?? null };
  } catch {
    return { gitVersion: null };
  }
}

/** HTTP status of a client-node error (ApiException.code), or null. */
export function apiErrorCode(err: unknown): number | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}

/** A one-line description of a client-node error: the Status message when the API sent one. */
export function apiErrorMessage(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  let body = e?.body;
  if (typeof body === 'string') {
    try { body = JSON.parse(body); } catch { /* keep text */ }
  }
  const msg = (body as { message?: string } | undefined)?.message;
  if (typeof msg === 'string' && msg) return typeof e.code === 'number' ? `HTTP ${e.code}: ${msg}` : msg;
  if (typeof e?.code === 'number') return `HTTP ${e.code}`;
  return e?.message?.split('\n')[0] ?? String(err);
}
