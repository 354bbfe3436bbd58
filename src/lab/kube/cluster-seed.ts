import type { KubeObject } from './object-store.js';
import { RESOURCE_TYPES, type ResourceType } from './resources.js';

/** What every kind cluster has: system namespaces and the `kubernetes` Service. */
export function baseClusterObjects(): KubeObject[] {
  const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return [
    ns('default'), ns('kube-system'), ns('kube-public'), ns('kube-node-lease'), ns('local-path-storage'),
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], type: 'ClusterIP' },
    },
    ...RESOURCE_TYPES.filter((r) => r.group.endsWith('istio.io')).map(crdFor),
  ];
}

function crdFor(r: ResourceType): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `${r.plural}.${r.group}`, labels: { app: 'istio-pilot', chart: 'istio', heritage: 'Tiller', release: 'istio' } },
    spec: {
      group: r.group, scope: r.namespaced ? 'Namespaced' : 'Cluster',
      names: { kind: r.kind, listKind: r.listKind, plural: r.plural, singular: r.singular, shortNames: r.shortNames, categories: r.categories },
      versions: r.versions.map((name, i) => ({ name, served: true, storage: i === 0, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } })),
    },
    status: { acceptedNames: { kind: r.kind, plural: r.plural }, storedVersions: [r.versions[0]], conditions: [{ type: 'Established', status: 'True', reason: 'InitialNamesAccepted' }] },
  };
}

