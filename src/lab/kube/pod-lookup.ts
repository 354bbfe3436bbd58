import type { LabPod } from '../types.js';

/** One lab pod by namespace and name (what the API looks up on every port-forward and exec). */
export type PodLookup = (namespace: string | undefined, name: string | undefined) => LabPod | undefined;

/**
 * O(1) lookups over `pods()`, as `pods().find(...)` would answer (first match): an index by
 * namespace/name, rebuilt when `pods()` returns another array or one of another length. A hit is
 * checked against the list (a pod replaced in place is found by a scan, as is a miss).
 */
export function podLookup(pods: () => LabPod[]): PodLookup {
  let indexed: LabPod[] | null = null;
  let length = -1;
  const index = new Map<string, number>();
  return (namespace, name) => {
    const list = pods();
    if (list !== indexed || list.length !== length) {
      index.clear();
      list.forEach((p, i) => {
        const k = `${p.namespace}/${p.name}`;
        if (!index.has(k)) index.set(k, i);
      });
      indexed = list;
      length = list.length;
    }
    const i = index.get(`${namespace}/${name}`);
    const hit = i === undefined ? undefined : list[i];
    if (hit && hit.namespace === namespace && hit.name === name) return hit;
    return list.find((p) => p.namespace === namespace && p.name === name);
  };
}
