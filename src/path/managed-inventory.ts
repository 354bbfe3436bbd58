import type { KubernetesObject } from '@kubernetes/client-node';
import type { AppliedRef } from '../cluster/apply.js';
import { MANAGED_KINDS } from '../cluster/cleanup.js';
import type { KubeClients } from '../cluster/kube-client.js';
import { apiErrorCode, apiErrorMessage } from '../cluster/kube-client.js';
import { EnvironmentError } from '../core/errors.js';
import { managedSelector } from '../topology/managed-labels.js';
import { FIELD_MANAGER } from '../topology/reference.js';

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

/** An object that existed before the run applied over it, as it was (to put back afterwards). */
export interface PriorObject {
  ref: AppliedRef;
  object: KubernetesObject;
}

/**
 * What a run changes on the cluster: the objects it is about to apply that existed already (saved
 * as they were), and the ones that did not (the run creates them). Recorded before the apply, so
 * that a run failing or interrupted half-way still knows what to put back.
 */
export interface RunChanges {
  prior: PriorObject[];
  created: AppliedRef[];
}

function refOf(o: KubernetesObject): AppliedRef {
  return { apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata!.name!, ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}) };
}

type ObjectHeader = Parameters<KubeClients['objects']['read']>[0];
/** The apiVersion/kind/name(/namespace) of `r`, as the object API reads and deletes by. */
export function specOf(r: AppliedRef): ObjectHeader {
  return { apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) } };
}

/** The object as a client would write it back: no status and no fields the server owns. */
function restorable(o: KubernetesObject): KubernetesObject {
  const copy = structuredClone(o) as KubernetesObject & { status?: unknown };
  delete copy.status;
  const m = copy.metadata ?? {};
  for (const k of ['resourceVersion', 'uid', 'managedFields', 'creationTimestamp', 'generation', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) delete (m as Record<string, unknown>)[k];
  return copy;
}

/**
 * Read every object of `objects` before it is applied: the ones that exist are saved as they are,
 * the others are what the run creates.
 */
export async function recordChanges(clients: KubeClients, objects: readonly KubernetesObject[]): Promise<RunChanges> {
  const changes: RunChanges = { prior: [], created: [] };
  for (const o of objects) {
    const ref = refOf(o);
    try {
      const live = await clients.objects.read(specOf(ref));
      changes.prior.push({ ref, object: restorable(live) });
    } catch (err) {
      if (apiErrorCode(err) === 404 || /Unrecognized API version and kind|Failed to fetch resource metadata/i.test((err as Error)?.message ?? '')) {
        changes.created.push(ref);
        continue;
      }
      throw new EnvironmentError(`reading ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} before applying it failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
    }
  }
  return changes;
}

/**
 * Put every saved object back as it was before the run (a replace at the live resourceVersion,
 * so labels, annotations and spec the run changed return; recreated if the run deleted it).
 * Returns the objects restored.
 */
export async function restorePrior(clients: KubeClients, prior: readonly PriorObject[]): Promise<AppliedRef[]> {
  const restored: AppliedRef[] = [];
  for (const p of prior) {
    const what = `${p.ref.kind} ${p.ref.namespace ? `${p.ref.namespace}/` : ''}${p.ref.name}`;
    try {
      let live: KubernetesObject | null = null;
      try {
        live = await clients.objects.read(specOf(p.ref));
      } catch (err) {
        if (apiErrorCode(err) !== 404) throw err;
      }
      const back = structuredClone(p.object);
      if (live) {
        back.metadata = { ...back.metadata, resourceVersion: live.metadata?.resourceVersion };
        await clients.objects.replace(back, undefined, undefined, FIELD_MANAGER);
      } else {
        await clients.objects.create(back, undefined, undefined, FIELD_MANAGER);
      }
      restored.push(p.ref);
    } catch (err) {
      throw new EnvironmentError(`restoring ${what} to its state before the run failed: ${apiErrorMessage(err)}`,
        `put it back by hand (kubectl apply) from the state you expect`, { cause: err });
    }
  }
  return restored;
}
