import type { V1Pod } from '@kubernetes/client-node';
import { EnvironmentError } from '../../cli/errors.js';
import { apiRequest, type KubeClients } from '../../cluster/kube-client.js';
import { podProblem } from '../../cluster/pod-status.js';
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
  controlPlane: ControlPlaneFacts;
  policy: MeshPolicy;
  /** Pods with an istio-proxy (sidecars and gateways) in the audited namespaces. */
  proxies: PodFacts[];
}

type ListJson = { items?: unknown[] };

/**
 * Read what the audit needs from the API server, with GET (list/get) only: namespaces, pods,
 * services, PeerAuthentications, DestinationRules, istiod Deployments and the root ConfigMap.
 * Istio CRDs that are not installed read as empty lists.
 */
export async function readInventory(clients: KubeClients, opts: InventoryOptions): Promise<Inventory> {
  const get = (path: string) => getJson(clients, path, opts.timeoutMs);
  const list = async (path: string, optional = false): Promise<unknown[]> => {
    const body = await get(path);
    if (body === null) {
      if (optional) return [];
      throw new EnvironmentError(`GET ${path} answered 404`, 'check that the context points at a Kubernetes API server');
    }
    return (body as ListJson).items ?? [];
  };
  /** One list across the audited namespaces (all at once when -A). */
  const scoped = async (prefix: string, plural: string, optional = false, extraNamespaces: string[] = []): Promise<unknown[]> => {
    if (opts.namespaces === null) return list(`${prefix}/${plural}`, optional);
    const nss = [...new Set([...opts.namespaces, ...extraNamespaces])];
    return (await Promise.all(nss.map((ns) => list(`${prefix}/namespaces/${encodeURIComponent(ns)}/${plural}`, optional)))).flat();
  };
  /** Istio kinds: v1 first, v1beta1 when the cluster's CRDs predate v1. */
  const istio = async (group: string, plural: string, extra: string[] = []): Promise<unknown[]> => {
    try {
      return await scoped(`/apis/${group}/v1`, plural, false, extra);
    } catch (err) {
      if (!(err instanceof EnvironmentError) || !err.message.includes('404')) throw err;
      return scoped(`/apis/${group}/v1beta1`, plural, true, extra);
    }
  };
  const root = opts.rootNamespace;
  const [nsItems, podItems, svcItems, paItems, drItems, istiodItems, rootCm] = await Promise.all([
    list('/api/v1/namespaces'),
    scoped('/api/v1', 'pods'),
    scoped('/api/v1', 'services'),
    istio('security.istio.io', 'peerauthentications', [root]),
    istio('networking.istio.io', 'destinationrules'),
    list(`/apis/apps/v1/namespaces/${root}/deployments?labelSelector=${encodeURIComponent('app=istiod')}`, true),
    get(`/api/v1/namespaces/${root}/configmaps/istio-ca-root-cert`),
  ]);
  const wanted = opts.namespaces ? new Set(opts.namespaces) : null;
  const namespaces = (nsItems as never[]).map(namespaceFacts);
  const pods = (podItems as V1Pod[])
    .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
    .map((p) => podFacts(p as never, podProblem(p)));
  const inScope = (ns: string) => !wanted || wanted.has(ns);
  const rootPem = ((rootCm as { data?: Record<string, string> } | null)?.data ?? {})['root-cert.pem'] ?? '';
  return {
    controlPlane: {
      istiods: (istiodItems as never[]).map(istiodFacts),
      rootPems: rootPem.includes('BEGIN CERTIFICATE') ? [rootPem] : [],
      rootSource: `configmap ${root}/istio-ca-root-cert`,
    },
    policy: {
      namespaces: namespaces.filter((n) => inScope(n.name)),
      pods: pods.filter((p) => inScope(p.namespace)),
      services: (svcItems as never[]).map(serviceFacts).filter((s) => inScope(s.namespace)),
      peerAuthentications: (paItems as never[]).map(peerAuthenticationFacts),
      destinationRules: (drItems as never[]).map(destinationRuleFacts).filter((d) => inScope(d.namespace)),
    },
    proxies: pods.filter((p) => p.hasSidecar && inScope(p.namespace)),
  };
}

/** GET a JSON document; null on 404; EnvironmentError naming the path and the right on 401/403. */
async function getJson(clients: KubeClients, path: string, timeoutMs: number): Promise<unknown | null> {
  let res;
  try {
    res = await apiRequest(clients.kc, 'GET', path, { timeoutMs });
  } catch (err) {
    throw new EnvironmentError(`GET ${path} on ${clients.server} failed: ${(err as Error).message}`,
      'check that the cluster is reachable (kubectl get --raw /version)', { cause: err });
  }
  if (res.status === 404) return null;
  if (res.status === 401 || res.status === 403) {
    throw new EnvironmentError(`GET ${path} was refused (HTTP ${res.status}) for context ${clients.context}`,
      'bind the read-only audit ClusterRole (fixtures/rbac/audit-readonly.yaml) to your user or service account');
  }
  if (res.status !== 200) {
    throw new EnvironmentError(`GET ${path} answered HTTP ${res.status}: ${res.body.slice(0, 200)}`, 'check the API server');
  }
  try {
    return JSON.parse(res.body);
  } catch (err) {
    throw new EnvironmentError(`GET ${path} did not return JSON`, 'check that --context points at a Kubernetes API server', { cause: err });
  }
}
