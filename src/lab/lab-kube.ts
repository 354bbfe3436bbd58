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
  const plural = kind.endsWith('s') ? kind.toLowerCase() : kind === 'Endpoints' ? 'endpoints' : `${kind.toLowerCase()}s`;
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

