import { RESOURCE_TYPES, apiGroups, groupVersion } from './resources.js';
import { LAB_VERSION_SUFFIX } from '../types.js';

/** The version the lab's API server claims (kind's node image of the same minor). */
export const LAB_KUBE_VERSION = { major: '1', minor: '33', gitVersion: `v1.33.1${LAB_VERSION_SUFFIX}` };

export function versionInfo(minor = Number(LAB_KUBE_VERSION.minor)): Record<string, string> {
  const same = minor === Number(LAB_KUBE_VERSION.minor);
  return {
    ...(same ? LAB_KUBE_VERSION : { major: '1', minor: String(minor), gitVersion: `v1.${minor}.0${LAB_VERSION_SUFFIX}` }),
    gitCommit: '8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828',
    gitTreeState: 'clean',
    buildDate: '2025-05-15T08:19:08Z',
    goVersion: 'go1.24.2',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupObject(name: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((version) => ({ groupVersion: groupVersion(name, version), version }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function groupList(): Record<string, unknown> {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: apiGroups().map((g) => groupObject(g.name, g.versions)) };
}

export function group(name: string): Record<string, unknown> | undefined {
  const g = apiGroups().find((x) => x.name === name);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupObject(g.name, g.versions) } : undefined;
}

export function resourceList(groupName: string, version: string): Record<string, unknown> | undefined {
  const types = RESOURCE_TYPES.filter((r) => r.group === groupName && r.versions.includes(version));
  if (types.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const r of types) {
    resources.push({
      name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs,
      ...(r.shortNames ? { shortNames: r.shortNames } : {}), ...(r.categories ? { categories: r.categories } : {}),
    });
    for (const [sub, s] of Object.entries(r.subresources ?? {})) {
      resources.push({ name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: s.verbs });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(groupName, version), resources };
}
