import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { EnvironmentError } from '../core/errors.js';
import type { KubeControlPlane } from './kube-control-plane.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Read and write objects on the lab's API as cluster-admin (tests, and the lab itself). */
export interface LabKube {
  get(kind: string, namespace: string | null, name: string): Promise<Json | undefined>;
  list(kind: string, namespace?: string): Promise<Json[]>;
  /** Server-side apply (force) with field manager `manager` (default: someone). */
  apply(object: Json, manager?: string): Promise<Json>;
  delete(kind: string, namespace: string | null, name: string): Promise<void>;
}

/** The apiVersion the lab uses for each kind it reads or writes (a kind it does not know is refused). */
export const API_VERSIONS: Record<string, string> = {
  Pod: 'v1', Service: 'v1', Secret: 'v1', ConfigMap: 'v1', Namespace: 'v1', ServiceAccount: 'v1', Node: 'v1', Endpoints: 'v1',
  Deployment: 'apps/v1', ReplicaSet: 'apps/v1', EndpointSlice: 'discovery.k8s.io/v1',
  Gateway: 'networking.istio.io/v1', DestinationRule: 'networking.istio.io/v1', VirtualService: 'networking.istio.io/v1', EnvoyFilter: 'networking.istio.io/v1alpha3',
  PeerAuthentication: 'security.istio.io/v1', MutatingWebhookConfiguration: 'admissionregistration.k8s.io/v1',
  PortForward: 'kwok.x-k8s.io/v1alpha1', Logs: 'kwok.x-k8s.io/v1alpha1', CustomResourceDefinition: 'apiextensions.k8s.io/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1', ClusterRoleBinding: 'rbac.authorization.k8s.io/v1', Role: 'rbac.authorization.k8s.io/v1', RoleBinding: 'rbac.authorization.k8s.io/v1',
};
const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'MutatingWebhookConfiguration', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);

function resourcePath(apiVersion: string, kind: string, namespace: string | null | undefined, name?: string): string {
  const lower = kind.toLowerCase();
  const plural = lower.endsWith('s') ? lower : /[^aeiou]y$/.test(lower) ? `${lower.slice(0, -1)}ies` : `${lower}s`;
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = !CLUSTER_SCOPED.has(kind) && namespace ? `/namespaces/${namespace}` : '';
  return `${prefix}${ns}/${plural}${name ? `/${name}` : ''}`;
}

export function labKube(cp: KubeControlPlane): LabKube {
  const versionOf = (kind: string) => {
    const v = API_VERSIONS[kind];
    if (!v) throw new Error(`the lab's API helper does not know kind ${kind}`);
    return v;
  };
  const fail = (what: string, r: { status: number; body: any }) => new Error(`${what}: HTTP ${r.status} ${typeof r.body === 'string' ? r.body : r.body?.message ?? JSON.stringify(r.body)}`.slice(0, 600));
  return {
    async get(kind, namespace, name) {
      const r = await cp.api('GET', resourcePath(versionOf(kind), kind, namespace, name));
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw fail(`get ${kind} ${namespace ?? ''}/${name}`, r);
      return r.body as Json;
    },
    async list(kind, namespace) {
      const r = await cp.api('GET', resourcePath(versionOf(kind), kind, namespace));
      if (r.status !== 200) throw fail(`list ${kind}`, r);
      // A list's items carry no kind or apiVersion: put them back, as kubectl does.
      return ((r.body?.items ?? []) as Json[]).map((o) => ({ apiVersion: versionOf(kind), kind, ...o }));
    },
    async apply(object, manager = 'someone') {
      const apiVersion = object.apiVersion ?? versionOf(object.kind);
      const path = resourcePath(apiVersion, object.kind, object.metadata?.namespace, object.metadata?.name);
      const r = await cp.api('PATCH', `${path}?fieldManager=${encodeURIComponent(manager)}&force=true`, { apiVersion, ...object }, 'application/apply-patch+yaml');
      if (r.status !== 200 && r.status !== 201) throw fail(`apply ${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`, r);
      return r.body as Json;
    },
    async delete(kind, namespace, name) {
      const r = await cp.api('DELETE', resourcePath(versionOf(kind), kind, namespace, name));
      if (r.status !== 200 && r.status !== 202 && r.status !== 404) throw fail(`delete ${kind} ${namespace ?? ''}/${name}`, r);
    },
  };
}

/**
 * Install Istio's CRDs (the pinned release's, `crdsFile`) as istioctl does, and wait until the
 * apiserver serves every one of them: a new CRD's storage answers 429 ("storage is
 * (re)initializing") for a while, and a namespaced path can answer 404 for a moment after the
 * cluster-wide list works.
 */
export async function installIstioCrds(kube: LabKube, cp: Pick<KubeControlPlane, 'api'>, crdsFile: string): Promise<void> {
  const crds = parseAllDocuments(readFileSync(crdsFile, 'utf8')).map((d) => d.toJS() as Json | null).filter((c): c is Json => c?.kind === 'CustomResourceDefinition');
  await Promise.all(crds.map((crd) => kube.apply(crd, 'istioctl')));
  let pending = crds.flatMap((d) => (d.spec.versions as { name: string; served?: boolean }[]).filter((v) => v.served !== false).flatMap((v) => [
    `/apis/${d.spec.group}/${v.name}/${d.spec.names.plural}?limit=1`,
    ...(d.spec.scope === 'Namespaced' ? [`/apis/${d.spec.group}/${v.name}/namespaces/default/${d.spec.names.plural}?limit=1`] : []),
  ]));
  // A loaded machine (CRDs make the apiserver rebuild its OpenAPI) can leave a GET unanswered for a
  // while: that path is still pending, not a failed lab; the bound is the time, not the tries.
  const deadline = Date.now() + 90_000;
  let lastError = '';
  while (pending.length > 0) {
    if (Date.now() > deadline) throw new EnvironmentError(`the lab's kube-apiserver did not serve Istio's CRDs within 90 s (still not: ${pending.slice(0, 3).join(', ')}${lastError ? `; last error: ${lastError}` : ''})`);
    const left = await Promise.all(pending.map(async (p) => {
      try {
        return (await cp.api('GET', p)).status === 200 ? null : p;
      } catch (err) {
        lastError = (err as Error).message;
        return p;
      }
    }));
    pending = left.filter((p): p is string => p !== null);
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 250));
  }
}
