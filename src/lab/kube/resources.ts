/**
 * The resource kinds the lab's API double serves, as the API server's discovery describes them.
 * One entry per resource; Istio kinds are served in two versions (v1 and v1beta1) with the same
 * schema, as Istio's CRDs do.
 */
export interface ResourceType {
  group: string;               // '' for the core group
  versions: string[];          // first = preferred / storage version
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  /** Served only as a create-only virtual resource (reviews). */
  virtual?: boolean;
  /** Subresources served (e.g. status, log, portforward, exec). */
  subresources?: Record<string, { kind: string; verbs: string[] }>;
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function rt(
  group: string, versions: string[], kind: string, plural: string, namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group, versions, kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), namespaced, verbs: RW, ...extra,
  };
}

export const RESOURCE_TYPES: ResourceType[] = [
  rt('', ['v1'], 'Namespace', 'namespaces', false, { shortNames: ['ns'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], subresources: { status: { kind: 'Namespace', verbs: ['get', 'patch', 'update'] } } }),
  rt('', ['v1'], 'Pod', 'pods', true, {
    shortNames: ['po'], categories: ['all'],
    subresources: {
      status: { kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      log: { kind: 'Pod', verbs: ['get'] },
      portforward: { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      exec: { kind: 'PodExecOptions', verbs: ['create', 'get'] },
    },
  }),
  rt('', ['v1'], 'Service', 'services', true, { shortNames: ['svc'], categories: ['all'], subresources: { status: { kind: 'Service', verbs: ['get', 'patch', 'update'] } } }),
  rt('', ['v1'], 'Endpoints', 'endpoints', true, { shortNames: ['ep'], singular: 'endpoints' }),
  rt('', ['v1'], 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  rt('', ['v1'], 'Secret', 'secrets', true),
  rt('', ['v1'], 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  rt('', ['v1'], 'Event', 'events', true, { shortNames: ['ev'] }),
  rt('apps', ['v1'], 'Deployment', 'deployments', true, { shortNames: ['deploy'], categories: ['all'], subresources: { status: { kind: 'Deployment', verbs: ['get', 'patch', 'update'] } } }),
  rt('apps', ['v1'], 'ReplicaSet', 'replicasets', true, { shortNames: ['rs'], categories: ['all'] }),
  rt('apiextensions.k8s.io', ['v1'], 'CustomResourceDefinition', 'customresourcedefinitions', false, { shortNames: ['crd', 'crds'] }),
  rt('authorization.k8s.io', ['v1'], 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, { verbs: ['create'], virtual: true }),
  rt('authorization.k8s.io', ['v1'], 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', false, { verbs: ['create'], virtual: true }),
  rt('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'Gateway', 'gateways', true, { shortNames: ['gw'], categories: ['istio-io', 'networking-istio-io'] }),
  rt('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'VirtualService', 'virtualservices', true, { shortNames: ['vs'], categories: ['istio-io', 'networking-istio-io'] }),
  rt('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3'], 'DestinationRule', 'destinationrules', true, { shortNames: ['dr'], categories: ['istio-io', 'networking-istio-io'] }),
  rt('networking.istio.io', ['v1alpha3'], 'EnvoyFilter', 'envoyfilters', true, { categories: ['istio-io', 'networking-istio-io'] }),
  rt('security.istio.io', ['v1', 'v1beta1'], 'PeerAuthentication', 'peerauthentications', true, { shortNames: ['pa'], categories: ['istio-io', 'security-istio-io'] }),
];

export function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => r.group === group && r.plural === plural && r.versions.includes(version));
}

/** Resource type of an object by its apiVersion and kind (for apply/create bodies). */
export function resourceForKind(apiVersion: string, kind: string): ResourceType | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  return RESOURCE_TYPES.find((r) => r.group === group && r.kind === kind && r.versions.includes(version));
}

export function apiGroups(): { name: string; versions: string[] }[] {
  const out: { name: string; versions: string[] }[] = [];
  for (const r of RESOURCE_TYPES) {
    if (r.group === '') continue;
    const g = out.find((x) => x.name === r.group);
    if (!g) out.push({ name: r.group, versions: [...r.versions] });
    else for (const v of r.versions) if (!g.versions.includes(v)) g.versions.push(v);
  }
  return out;
}
