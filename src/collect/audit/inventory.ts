import type { V1Pod } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { EnvironmentError, UsageError } from '../../core/errors.js';
import { apiRequest, type KubeClients } from '../../cluster/kube-client.js';
import { podProblem } from '../../cluster/pod-status.js';
import { formatBytes, limit } from '../../cluster/limits.js';
import type { ControlPlaneFacts, MeshPolicy, PodFacts } from '../../analyze/audit/types.js';
import {
  destinationRuleFacts, istiodFacts, namespaceFacts, peerAuthenticationFacts, podFacts, serviceFacts,
} from './kube-facts.js';

export interface InventoryOptions {
  /** Namespaces to audit, or null for all. */
  namespaces: string[] | null;
  rootNamespace: string;
  timeoutMs: number;
}

export interface Inventory {
  /** The namespaces audited: those asked for, or every namespace of the cluster. */
  namespaces: string[];
  controlPlane: ControlPlaneFacts;
  policy: MeshPolicy;
  /** Pods with an istio-proxy (sidecars and gateways) in the audited namespaces. */
  proxies: PodFacts[];
}

type ListJson = { items?: unknown[]; metadata?: { continue?: string } };

/** Items per LIST page, as kubectl's --chunk-size: a large cluster's pods never sit in memory as one response. */
export const LIST_PAGE_SIZE = 500;

/**
 * Read what the audit needs from the API server, with GET (list/get) only: namespaces, pods,
 * services, PeerAuthentications, DestinationRules, istiod Deployments and the root ConfigMap.
 * Istio CRDs that are not installed read as empty lists. Lists are read in pages (limit and
 * continue) and each page is reduced to facts before the next is read.
 */
export async function readInventory(clients: KubeClients, opts: InventoryOptions): Promise<Inventory> {
  const get = (path: string) => getJson(clients, path, opts.timeoutMs).then((r) => r?.json ?? null);
  // A list is bounded in pages and in bytes across its pages (src/cluster/limits.ts): a server
  // that hands out a `continue` token on every page ends here instead of growing without end.
  const maxPages = limit('API_LIST_MAX_PAGES');
  const maxBytes = limit('API_LIST_MAX_BYTES');
  // The lists below are read at once, but only so many pages at a time (API_LIST_PAGES_AT_ONCE);
  // the first of them that fails stops the others (the audit ends on it: reading on would only hold memory).
  const pageSlot = pLimit(limit('API_LIST_PAGES_AT_ONCE'));
  const stop = new AbortController();
  const readPage = (page: string) => pageSlot(() => {
    stop.signal.throwIfAborted();
    return getJson(clients, page, opts.timeoutMs, stop.signal);
  });
  const list = async <T>(path: string, toFacts: (item: never) => T | null, optional = false): Promise<T[]> => {
    const out: T[] = [];
    let token: string | undefined;
    let limit: number | null = LIST_PAGE_SIZE;
    let pages = 0;
    let bytes = 0;
    for (;;) {
      if (pages >= maxPages) {
        throw new EnvironmentError(`Kubernetes API ${clients.server}: GET ${path}: the list did not end after ${maxPages} pages of ${LIST_PAGE_SIZE} (API_LIST_MAX_PAGES)`,
          'check the API server (every page carries a continue token); for a list this long raise the limit with MESH_VERIFY_API_LIST_MAX_PAGES=N, or audit fewer namespaces with -n');
      }
      pages += 1;
      const query = [limit ? `limit=${limit}` : '', token ? `continue=${encodeURIComponent(token)}` : ''].filter(Boolean).join('&');
      const page = query ? `${path}${path.includes('?') ? '&' : '?'}${query}` : path;
      let body: unknown;
      try {
        const r = await readPage(page);
        body = r?.json ?? null;
        bytes += r?.bytes ?? 0;
      } catch (err) {
        // 410 Gone: the continue token expired mid-list; read the whole list at once, as client-go's pager does.
        if (token && err instanceof EnvironmentError && /HTTP 410/.test(err.message)) {
          out.length = 0;
          token = undefined;
          limit = null;
          pages = 0;
          bytes = 0;
          continue;
        }
        throw err;
      }
      if (bytes > maxBytes) {
        throw new EnvironmentError(`Kubernetes API ${clients.server}: GET ${path}: the list is larger than the limit of ${formatBytes(maxBytes)} across its pages (API_LIST_MAX_BYTES)`,
          'check the API server; for a list this large raise the limit with MESH_VERIFY_API_LIST_MAX_BYTES=BYTES, or audit fewer namespaces with -n');
      }
      if (body === null) {
        if (optional) return [];
        throw new EnvironmentError(`GET ${path} answered 404`, 'check that the context points at a Kubernetes API server');
      }
      for (const item of (body as ListJson).items ?? []) {
        const facts = toFacts(item as never);
        if (facts !== null) out.push(facts);
      }
      token = limit ? (body as ListJson).metadata?.continue || undefined : undefined;
      if (!token) return out;
    }
  };
  /** One list across the audited namespaces (all at once when -A). */
  const scoped = async <T>(prefix: string, plural: string, toFacts: (item: never) => T | null, optional = false, extraNamespaces: string[] = []): Promise<T[]> => {
    if (opts.namespaces === null) return list(`${prefix}/${plural}`, toFacts, optional);
    const nss = [...new Set([...opts.namespaces, ...extraNamespaces])];
    return (await Promise.all(nss.map((ns) => list(`${prefix}/namespaces/${encodeURIComponent(ns)}/${plural}`, toFacts, optional)))).flat();
  };
  /** Istio kinds: v1 first, v1beta1 when the cluster's CRDs predate v1. */
  const istio = async <T>(group: string, plural: string, toFacts: (item: never) => T | null, extra: string[] = []): Promise<T[]> => {
    try {
      return await scoped(`/apis/${group}/v1`, plural, toFacts, false, extra);
    } catch (err) {
      if (!(err instanceof EnvironmentError) || !err.message.includes('404')) throw err;
      return scoped(`/apis/${group}/v1beta1`, plural, toFacts, true, extra);
    }
  };
  const root = opts.rootNamespace;
  const livePod = (p: V1Pod) => (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? null : podFacts(p as never, podProblem(p)));
  // The namespaces first: a namespace asked for that does not exist is a user's mistake (pods,
  // services ... of a missing namespace list as empty, so the audit would pass clean).
  const namespaces = await list('/api/v1/namespaces', namespaceFacts);
  const known = new Set(namespaces.map((n) => n.name));
  const missing = (opts.namespaces ?? []).filter((ns) => !known.has(ns));
  if (missing.length > 0) {
    throw new UsageError(`namespace${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found in context ${clients.context || clients.server}`,
      'pass namespaces that exist (kubectl get namespaces), or -A for all');
  }
  const [pods, services, peerAuthentications, destinationRules, istiods, rootCm] = await Promise.all([
    scoped('/api/v1', 'pods', livePod),
    scoped('/api/v1', 'services', serviceFacts),
    istio('security.istio.io', 'peerauthentications', peerAuthenticationFacts, [root]),
    istio('networking.istio.io', 'destinationrules', destinationRuleFacts),
    list(`/apis/apps/v1/namespaces/${root}/deployments?labelSelector=${encodeURIComponent('app=istiod')}`, istiodFacts, true),
    get(`/api/v1/namespaces/${root}/configmaps/istio-ca-root-cert`),
  ]).catch((err: unknown) => { stop.abort(err); throw err; });
  const wanted = opts.namespaces ? new Set(opts.namespaces) : null;
  const inScope = (ns: string) => !wanted || wanted.has(ns);
  const rootPem = ((rootCm as { data?: Record<string, string> } | null)?.data ?? {})['root-cert.pem'] ?? '';
  return {
    namespaces: opts.namespaces ? [...opts.namespaces] : namespaces.map((n) => n.name).sort(),
    controlPlane: {
      istiods,
      rootPems: rootPem.includes('BEGIN CERTIFICATE') ? [rootPem] : [],
      rootSource: `configmap ${root}/istio-ca-root-cert`,
    },
    policy: {
      namespaces: namespaces.filter((n) => inScope(n.name)),
      pods: pods.filter((p) => inScope(p.namespace)),
      services: services.filter((s) => inScope(s.namespace)),
      peerAuthentications,
      destinationRules: destinationRules.filter((d) => inScope(d.namespace)),
    },
    proxies: pods.filter((p) => p.hasSidecar && inScope(p.namespace)),
  };
}

/** GET a JSON document (and its size); null on 404; EnvironmentError naming the path and the right on 401/403. */
async function getJson(clients: KubeClients, path: string, timeoutMs: number, signal?: AbortSignal): Promise<{ json: unknown; bytes: number } | null> {
  let res;
  try {
    res = await apiRequest(clients.kc, 'GET', path, { timeoutMs, signal });
  } catch (err) {
    // A deadline or the size limit: one line naming the request and the limit already.
    if (err instanceof EnvironmentError) throw err;
    throw new EnvironmentError(`GET ${path} on ${clients.server} failed: ${(err as Error).message}`,
      'check that the cluster is reachable (kubectl get --raw /version)', { cause: err });
  }
  if (res.status === 404) return null;
  if (res.status === 401 || res.status === 403) {
    throw new EnvironmentError(`GET ${path} was refused (HTTP ${res.status}) for context ${clients.context}`,
      'bind the read-only audit ClusterRole (fixtures/rbac/audit-readonly.yaml) to your user or service account');
  }
  if (res.status !== 200) {
    throw new EnvironmentError(`GET ${path} answered HTTP ${res.status}: ${statusText(res.body)}`, 'check the API server (kubectl get --raw /readyz)');
  }
  try {
    return { json: JSON.parse(res.body) as unknown, bytes: Buffer.byteLength(res.body) };
  } catch (err) {
    throw new EnvironmentError(`GET ${path} did not return JSON`, 'check that --context points at a Kubernetes API server', { cause: err });
  }
}

/** The message of a Kubernetes Status answer, else the start of the body on one line. */
function statusText(body: string): string {
  try {
    const msg = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof msg === 'string' && msg) return msg.split('\n')[0].slice(0, 200);
  } catch { /* not JSON */ }
  return body.replace(/\s+/g, ' ').trim().slice(0, 200);
}
