/**
 * Which lists are merged item by item (associative lists, keyed like the Kubernetes OpenAPI
 * `x-kubernetes-list-map-keys` / strategic-merge `patchMergeKey`), and which are atomic.
 * Keyed by the list's field name; enough for the kinds the lab serves.
 */
const LIST_MAP_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  volumes: ['name'],
  env: ['name'],
  imagePullSecrets: ['name'],
  volumeMounts: ['mountPath'],
  conditions: ['type'],
};

/** Keys of an associative list, or null for an atomic list. */
export function listMapKeys(field: string, items: unknown[]): string[] | null {
  if (field === 'ports') {
    const first = items.find((i) => i && typeof i === 'object') as Record<string, unknown> | undefined;
    if (!first) return null;
    if ('containerPort' in first) return ['containerPort'];
    if ('port' in first && !('number' in first)) return ['port'];
    return null;
  }
  const keys = LIST_MAP_KEYS[field];
  if (!keys) return null;
  return items.every((i) => i && typeof i === 'object' && keys.every((k) => k in (i as object))) ? keys : null;
}

export function itemKey(item: Record<string, unknown>, keys: string[]): string {
  const o: Record<string, unknown> = {};
  for (const k of keys) o[k] = item[k];
  return JSON.stringify(o);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
