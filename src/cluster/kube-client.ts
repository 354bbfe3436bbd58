import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import http from 'node:http';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { EnvironmentError } from '../cli/errors.js';

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
  if (!opts.skipVersionCheck) clients.serverVersion = (await checkApiReachable(kc, opts.timeoutMs ?? 10_000)).gitVersion;
  return clients;
}

export function clientsFor(kc: KubeConfig): KubeClients {
  const server = kc.getCurrentCluster()?.server ?? '';
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
    context: kc.getCurrentContext(),
    server: stripCredentials(server),
  };
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
 * One raw request to the API server with the kubeconfig's credentials and a time bound
 * (client-node's generated clients offer no per-call timeout).
 */
export async function apiRequest(kc: KubeConfig, method: string, path: string,
  opts: { body?: unknown; timeoutMs?: number; contentType?: string } = {}): Promise<ApiResponse> {
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
  const mod = url.protocol === 'https:' ? https : http;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return await new Promise<ApiResponse>((resolve, reject) => {
    const req = mod.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
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
