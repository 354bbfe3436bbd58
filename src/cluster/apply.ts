import type { KubernetesObject } from '@kubernetes/client-node';
import { PatchStrategy } from '@kubernetes/client-node';
import { EnvironmentError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import { FIELD_MANAGER } from '../topology/reference.js';
import type { KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';
import { withManagedLabels } from '../topology/managed-labels.js';

/** What was applied: enough to wait for it, read it back and delete it. */
export interface AppliedRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  /** metadata.generation after the apply (Deployments: what status.observedGeneration must reach). */
  generation?: number;
}

export interface ApplyOptions {
  fieldManager?: typeof FIELD_MANAGER;
  runId: string;
  progress?: Progress;
}

/** Cluster-scoped and prerequisite kinds go first (namespaces before what lives in them). */
const KIND_ORDER = ['Namespace', 'ServiceAccount', 'Secret', 'ConfigMap', 'Service', 'Deployment'];
function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.length : i;
}

/** Apply order: by kind rank, stable within a kind. */
export function applyOrder<T extends KubernetesObject>(objects: readonly T[]): T[] {
  return objects.map((o, i) => ({ o, i }))
    .sort((a, b) => kindRank(a.o.kind ?? '') - kindRank(b.o.kind ?? '') || a.i - b.i)
    .map(({ o }) => o);
}

export function describeObject(o: { kind?: string; metadata?: { namespace?: string; name?: string } }): string {
  const ns = o.metadata?.namespace;
  return `${o.kind ?? '?'} ${ns ? `${ns}/` : ''}${o.metadata?.name ?? '?'}`;
}

/**
 * Server-side apply (field manager `mesh-verify`, force) of every object, labelled
 * `app.kubernetes.io/managed-by=mesh-verify` and `mesh-verify.io/run=<runId>`. Applying the same
 * objects twice changes nothing. Throws an EnvironmentError naming the object that failed.
 */
export async function applyObjects(clients: KubeClients, objects: readonly KubernetesObject[],
  opts: ApplyOptions): Promise<AppliedRef[]> {
  const manager = opts.fieldManager ?? FIELD_MANAGER;
  const step = opts.progress?.step(`applying ${objects.length} objects (server-side apply, field manager ${manager})`);
  const refs: AppliedRef[] = [];
  try {
    for (const obj of applyOrder(objects)) {
      if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
        throw new EnvironmentError(`cannot apply an object without apiVersion, kind and metadata.name (${describeObject(obj)})`);
      }
      const labelled = withManagedLabels(obj, opts.runId);
      // Server-side apply wants no managedFields / resourceVersion from an old read.
      delete labelled.metadata!.managedFields;
      delete labelled.metadata!.resourceVersion;
      step?.update(`applying ${describeObject(obj)}`);
      let result: KubernetesObject;
      try {
        result = await clients.objects.patch(labelled, undefined, undefined, manager, true, PatchStrategy.ServerSideApply);
      } catch (err) {
        throw applyError(obj, err);
      }
      refs.push({
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
        name: obj.metadata.name,
        ...(result?.metadata?.uid ? { uid: result.metadata.uid } : {}),
        ...(typeof result?.metadata?.generation === 'number' ? { generation: result.metadata.generation } : {}),
      });
    }
  } catch (err) {
    step?.fail(`apply failed: ${(err as Error).message}`);
    throw err;
  }
  step?.succeed(`applied ${refs.length} objects`);
  return refs;
}

function applyError(obj: KubernetesObject, err: unknown): EnvironmentError {
  const what = describeObject(obj);
  const code = apiErrorCode(err);
  const msg = apiErrorMessage(err);
  if (code === 403) {
    return new EnvironmentError(`not allowed to apply ${what}: ${msg}`,
      'use a kubeconfig context with rights to create and patch it (e.g. cluster-admin on a test cluster)', { cause: err });
  }
  const missingNs = /namespaces "([^"]+)" not found/.exec(msg);
  if (code === 404 && missingNs) {
    const ns = missingNs[1];
    return new EnvironmentError(`cannot apply ${what}: namespace ${ns} does not exist`,
      ns === 'istio-system' ? 'install Istio first (mesh-verify up), or check --context' : `create namespace ${ns} first`, { cause: err });
  }
  if (code === 404 || /Unrecognized API version and kind|Failed to fetch resource metadata|could not find the requested resource/i.test(msg)) {
    const istio = /istio\.io\//.test(obj.apiVersion ?? '');
    return new EnvironmentError(`the API server does not know ${obj.apiVersion} ${obj.kind} (applying ${what}): ${msg}`,
      istio ? 'install Istio first (mesh-verify up) or check its CRDs' : 'check the cluster version', { cause: err });
  }
  return new EnvironmentError(`applying ${what} failed: ${msg}`, undefined, { cause: err });
}
