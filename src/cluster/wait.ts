import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { EnvironmentError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import type { AppliedRef } from './apply.js';
import type { KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';
import { podProblem } from './pod-status.js';

export interface WaitOptions {
  timeoutMs: number;
  progress?: Progress;
  /** Poll interval (default 1000 ms). */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Why a Deployment has not rolled out yet, or null when it has. */
export function rolloutProblem(d: V1Deployment): string | null {
  const name = `${d.metadata?.namespace}/${d.metadata?.name}`;
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const gen = d.metadata?.generation ?? 0;
  if ((s.observedGeneration ?? 0) < gen) return `Deployment ${name}: generation ${gen} not yet observed`;
  const failed = s.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False');
  if (failed) return `Deployment ${name}: ${failed.reason ?? 'not progressing'}${failed.message ? ` (${failed.message})` : ''}`;
  if ((s.updatedReplicas ?? 0) < want) return `Deployment ${name}: ${s.updatedReplicas ?? 0}/${want} replicas updated`;
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return `Deployment ${name}: ${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old replicas still running`;
  if ((s.availableReplicas ?? 0) < want) return `Deployment ${name}: ${s.availableReplicas ?? 0}/${want} replicas available`;
  return null;
}

function selectorOf(d: V1Deployment): string | undefined {
  const labels = d.spec?.selector?.matchLabels;
  if (!labels) return undefined;
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * Wait until every Deployment among `refs` has rolled out (observedGeneration, updated and
 * available replicas). Bounded polling; on timeout an EnvironmentError names the Deployment and
 * the reason its pods give (e.g. `container svc waiting: ImagePullBackOff`).
 */
export async function waitForRollouts(clients: KubeClients, refs: readonly AppliedRef[], opts: WaitOptions): Promise<void> {
  const deployments = refs.filter((r) => r.kind === 'Deployment');
  if (deployments.length === 0) return;
  const step = opts.progress?.step(`waiting for ${deployments.length} deployments to roll out`);
  const deadline = Date.now() + opts.timeoutMs;
  const pending = new Map(deployments.map((r) => [`${r.namespace}/${r.name}`, r]));
  let last = new Map<string, { problem: string; deployment: V1Deployment | null }>();
  for (;;) {
    last = new Map();
    for (const [key, ref] of pending) {
      let d: V1Deployment | null = null;
      let problem: string | null;
      try {
        d = await clients.apps.readNamespacedDeployment({ name: ref.name, namespace: ref.namespace ?? 'default' });
        problem = rolloutProblem(d);
      } catch (err) {
        if (apiErrorCode(err) !== 404) throw readError(`Deployment ${key}`, err);
        problem = `Deployment ${key} does not exist`;
      }
      if (problem === null) pending.delete(key);
      else last.set(key, { problem, deployment: d });
    }
    if (pending.size === 0) break;
    step?.update(`waiting for rollout: ${[...last.values()].map((v) => v.problem).join('; ')}`);
    if (Date.now() >= deadline) {
      const [key, { problem, deployment }] = [...last.entries()][0];
      const why = deployment ? await podReasonFor(clients, deployment) : null;
      const msg = `Deployment ${key} is not ready after ${Math.round(opts.timeoutMs / 1000)} s: ${problem}${why ? `; ${why}` : ''}`;
      step?.fail(msg);
      throw new EnvironmentError(msg, `kubectl -n ${deployment?.metadata?.namespace ?? 'default'} describe deployment ${deployment?.metadata?.name ?? key}`);
    }
    await sleep(Math.min(opts.pollMs ?? 1000, Math.max(0, deadline - Date.now())));
  }
  step?.succeed(`${deployments.length} deployments rolled out`);
}

async function podReasonFor(clients: KubeClients, d: V1Deployment): Promise<string | null> {
  const selector = selectorOf(d);
  if (!selector || !d.metadata?.namespace) return null;
  try {
    const pods = await clients.core.listNamespacedPod({ namespace: d.metadata.namespace, labelSelector: selector });
    for (const p of pods.items) {
      const problem = podProblem(p);
      if (problem) return problem;
    }
    return pods.items.length === 0 ? 'no pods were created (check the ReplicaSet events)' : null;
  } catch {
    return null;
  }
}

export interface PodWaitOptions extends WaitOptions {
  /** Every pod must also have a ready istio-proxy container. */
  requireSidecar: boolean;
  /** Minimum number of ready pods (default 1). */
  minPods?: number;
}

/**
 * Wait until the pods matching `labelSelector` in `namespace` are Running and Ready (and, with
 * requireSidecar, have a ready istio-proxy). Returns them. On timeout an EnvironmentError names the
 * first pod that is not ready and why.
 */
export async function waitForPodsReady(clients: KubeClients, namespace: string, labelSelector: string,
  opts: PodWaitOptions): Promise<V1Pod[]> {
  const what = `pods ${labelSelector} in ${namespace}`;
  const step = opts.progress?.step(`waiting for ${what}${opts.requireSidecar ? ' (with istio-proxy)' : ''}`);
  const deadline = Date.now() + opts.timeoutMs;
  const min = opts.minPods ?? 1;
  for (;;) {
    let pods: V1Pod[];
    try {
      pods = (await clients.core.listNamespacedPod({ namespace, labelSelector })).items
        .filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    } catch (err) {
      throw readError(what, err);
    }
    const problems = pods.map((p) => podProblem(p, opts.requireSidecar)).filter((p): p is string => p !== null);
    if (problems.length === 0 && pods.length >= min) {
      step?.succeed(`${pods.length} ${pods.length === 1 ? 'pod' : 'pods'} ready: ${pods.map((p) => p.metadata?.name).join(', ')}`);
      return pods;
    }
    const problem = problems[0] ?? `no pods match ${labelSelector} in ${namespace}`;
    step?.update(`waiting: ${problem}`);
    if (Date.now() >= deadline) {
      const msg = `${what} not ready after ${Math.round(opts.timeoutMs / 1000)} s: ${problem}`;
      step?.fail(msg);
      throw new EnvironmentError(msg, `kubectl -n ${namespace} describe pods -l ${labelSelector}`);
    }
    await sleep(Math.min(opts.pollMs ?? 1000, Math.max(0, deadline - Date.now())));
  }
}

function readError(what: string, err: unknown): EnvironmentError {
  const code = apiErrorCode(err);
  if (code === 403) return new EnvironmentError(`not allowed to read ${what}: ${apiErrorMessage(err)}`, 'use a context with read rights on pods and deployments', { cause: err });
  return new EnvironmentError(`reading ${what} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
}
