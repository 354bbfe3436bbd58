import type { KubernetesObject } from '@kubernetes/client-node';
import type { AppliedRef } from '../cluster/apply.js';
import { MANAGED_KINDS } from '../cluster/cleanup.js';
import type { KubeClients } from '../cluster/kube-client.js';
import { apiErrorCode, apiErrorMessage } from '../cluster/kube-client.js';
import { EnvironmentError } from '../cli/errors.js';
import { managedSelector } from '../topology/managed-labels.js';

export function refKey(r: Pick<AppliedRef, 'kind' | 'namespace' | 'name'>): string {
  return `${r.kind}/${r.namespace ?? ''}/${r.name}`;
}

/**
 * Every object labelled managed-by mesh-verify, of the kinds mesh-verify creates (kinds the
 * cluster does not know, e.g. before Istio is installed, are skipped).
 */
export async function listManaged(clients: KubeClients): Promise<AppliedRef[]> {
  const selector = managedSelector();
  const out: AppliedRef[] = [];
  for (const k of MANAGED_KINDS) {
    let items: KubernetesObject[];
    try {
      items = (await clients.objects.list(k.apiVersion, k.kind, undefined, undefined, undefined, undefined, undefined, selector)).items;
    } catch (err) {
      if (apiErrorCode(err) === 404 || /Unrecognized API version and kind|Failed to fetch resource metadata/i.test((err as Error)?.message ?? '')) continue;
      throw new EnvironmentError(`listing ${k.kind} labelled ${selector} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
    }
    for (const o of items) {
      if (!o.metadata?.name) continue;
      out.push({ apiVersion: k.apiVersion, kind: k.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) });
    }
  }
  return out;
}

/** Objects of `before` that are not among `applied` (leftovers of another scenario). */
export function leftovers(before: readonly AppliedRef[], applied: readonly AppliedRef[]): AppliedRef[] {
  const keep = new Set(applied.map(refKey));
  return before.filter((r) => !keep.has(refKey(r)));
}

/** Objects of `applied` that did not exist before the run (what the run created). */
export function createdBy(applied: readonly AppliedRef[], before: readonly AppliedRef[]): AppliedRef[] {
  const had = new Set(before.map(refKey));
  return applied.filter((r) => !had.has(refKey(r)));
}
