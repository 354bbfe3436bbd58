import type { KubernetesObject } from '@kubernetes/client-node';
import { LABEL_MANAGED_BY, LABEL_MANAGED_BY_VALUE } from './reference.js';

/** The run label: every object a `mesh-verify path` run applies carries its run id. */
export const LABEL_RUN = 'mesh-verify.io/run';

/** Label selector for what mesh-verify manages (optionally one run only). */
export function managedSelector(runId?: string): string {
  const base = `${LABEL_MANAGED_BY}=${LABEL_MANAGED_BY_VALUE}`;
  return runId ? `${base},${LABEL_RUN}=${runId}` : base;
}

/** A copy of `obj` with the managed-by and run labels added (the input is not changed). */
export function withManagedLabels<T extends KubernetesObject>(obj: T, runId: string): T {
  const copy = structuredClone(obj);
  copy.metadata = { ...(copy.metadata ?? {}) };
  copy.metadata.labels = { ...(copy.metadata.labels ?? {}), [LABEL_MANAGED_BY]: LABEL_MANAGED_BY_VALUE, [LABEL_RUN]: runId };
  return copy;
}

/** Kubernetes label values: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends. */
export function isValidLabelValue(v: string): boolean {
  return v.length <= 63 && /^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?$/.test(v);
}
