import type { KubernetesObject } from '@kubernetes/client-node';
import { EnvironmentError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import type { AppliedRef } from './apply.js';
import { describeObject } from './apply.js';
import type { KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';
import { managedSelector } from '../topology/managed-labels.js';

/**
 * The kinds mesh-verify creates, in deletion order: mesh policy first (so nothing routes to pods
 * going away), workloads, their config, and namespaces last.
 */
export const MANAGED_KINDS: ReadonlyArray<{ apiVersion: string; kind: string; namespaced: boolean }> = [
  { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespaced: true },
  { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', namespaced: true },
  { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', namespaced: true },
  { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', namespaced: true },
  { apiVersion: 'v1', kind: 'ConfigMap', namespaced: true },
  { apiVersion: 'v1', kind: 'Secret', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true },
  { apiVersion: 'v1', kind: 'Namespace', namespaced: false },
];

export interface DeleteManagedOptions {
  /** Only objects of this run (label mesh-verify.io/run); default: everything mesh-verify manages. */
  runId?: string;
  /** Only look in these namespaces (and delete them last if they are managed); default: all. */
  namespaces?: string[];
  progress?: Progress;
}

function isUnknownKind(err: unknown): boolean {
  return apiErrorCode(err) === 404 || /Unrecognized API version and kind|Failed to fetch resource metadata/i.test((err as Error)?.message ?? '');
}

/**
 * Delete every object labelled `app.kubernetes.io/managed-by=mesh-verify` (and, with runId, of
 * that run), namespaces last. Kinds the cluster does not know (Istio not installed) are skipped.
 * Returns what was deleted.
 */
export async function deleteManaged(clients: KubeClients, opts: DeleteManagedOptions = {}): Promise<AppliedRef[]> {
  const selector = managedSelector(opts.runId);
  const step = opts.progress?.step(`deleting objects labelled ${selector}`);
  const found: AppliedRef[] = [];
  for (const k of MANAGED_KINDS) {
    const scopes: (string | undefined)[] = k.namespaced && opts.namespaces?.length ? opts.namespaces : [undefined];
    for (const ns of scopes) {
      let items: KubernetesObject[];
      try {
        items = (await clients.objects.list(k.apiVersion, k.kind, ns, undefined, undefined, undefined, undefined, selector)).items;
      } catch (err) {
        if (isUnknownKind(err)) continue;
        step?.fail();
        throw new EnvironmentError(`listing ${k.kind} labelled ${selector} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
      }
      for (const o of items) {
        if (!o.metadata?.name) continue;
        if (!k.namespaced && opts.namespaces?.length && !opts.namespaces.includes(o.metadata.name)) continue;
        found.push({ apiVersion: k.apiVersion, kind: k.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) });
      }
    }
  }
  const deleted = await deleteRefs(clients, found, { progress: opts.progress, ordered: true });
  step?.succeed(`deleted ${deleted.length} objects labelled ${selector}`);
  return deleted;
}

/**
 * Delete exactly these objects (what one run applied), namespaces last. Objects already gone are
 * not an error. Returns the ones that were deleted.
 */
export async function deleteRefs(clients: KubeClients, refs: readonly AppliedRef[],
  opts: { progress?: Progress; ordered?: boolean } = {}): Promise<AppliedRef[]> {
  const order = (r: AppliedRef) => {
    const i = MANAGED_KINDS.findIndex((k) => k.kind === r.kind);
    return i === -1 ? MANAGED_KINDS.length - 1 : i;
  };
  const list = opts.ordered ? [...refs] : [...refs].sort((a, b) => order(a) - order(b));
  const deleted: AppliedRef[] = [];
  for (const ref of list) {
    const spec = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } };
    try {
      await clients.objects.delete(spec, undefined, undefined, undefined, undefined, 'Background');
      deleted.push(ref);
    } catch (err) {
      if (isUnknownKind(err)) continue;
      throw new EnvironmentError(`deleting ${describeObject(spec)} failed: ${apiErrorMessage(err)}`,
        'delete it by hand (kubectl delete) or run mesh-verify down again', { cause: err });
    }
  }
  return deleted;
}

/** The parts of `process` an interrupt hook needs (tests pass an EventEmitter). */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
  kill(pid: number, signal: NodeJS.Signals): unknown;
  pid: number;
}

export interface InterruptHook {
  /** Remove the signal handlers (call when the run finished normally). */
  dispose(): void;
  readonly interrupted: boolean;
  /** Settles once the cleanup triggered by a signal has finished (or failed). */
  readonly done: Promise<void>;
}

/**
 * On Ctrl-C (SIGINT) or SIGTERM: run `cleanup` once (what this run created), then re-deliver the
 * signal with default handling so the process ends as interrupted (no process.exit). A second
 * signal during cleanup is delivered at once.
 */
export function onInterrupt(cleanup: () => Promise<void>, opts: {
  progress?: Progress; signals?: NodeJS.Signals[]; proc?: SignalSource;
} = {}): InterruptHook {
  const proc: SignalSource = opts.proc ?? process;
  const signals = opts.signals ?? ['SIGINT', 'SIGTERM'];
  let interrupted = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  const handlers = new Map<NodeJS.Signals, () => void>();
  const dispose = () => { for (const [s, h] of handlers) proc.off(s, h); handlers.clear(); };
  for (const signal of signals) {
    const handler = () => {
      if (interrupted) {
        dispose();
        proc.kill(proc.pid, signal);
        return;
      }
      interrupted = true;
      const step = opts.progress?.step(`${signal}: cleaning up what this run created`);
      cleanup().then(
        () => step?.succeed(`${signal}: cleaned up what this run created`),
        (err: unknown) => step?.fail(`${signal}: cleanup failed: ${(err as Error).message}`),
      ).finally(() => {
        resolveDone();
        dispose();
        proc.kill(proc.pid, signal);
      });
    };
    handlers.set(signal, handler);
    proc.on(signal, handler);
  }
  return { dispose, get interrupted() { return interrupted; }, done };
}
