import type { Progress } from '../core/progress.js';
import { DEFAULT_KIND_CLUSTER, deleteKindCluster, kindClusterExists } from '../cluster/kind.js';
import { deleteManaged } from '../cluster/cleanup.js';
import { connectKube } from '../cluster/kube-client.js';
import type { ScenarioName } from '../topology/scenarios.js';
import { parsePathOptions } from './options.js';
import { newRunId } from './run-id.js';
import type { PreparedTarget } from './target.js';

export interface LifecycleOptions {
  context: string | null;
  kubeconfig: string | null;
  scenario?: ScenarioName | null;
}

export interface UpResult {
  target: PreparedTarget['target'];
  istio: PreparedTarget['istio'];
  entry: { address: string; port: number };
  applied: number;
  /** The command that verifies what `up` deployed. */
  next: string;
}

/**
 * `mesh-verify up`: cluster (kind create/reuse, or --context) + Istio (reuse or install) + the
 * reference topology (or a scenario's), left running for `mesh-verify path --no-deploy`.
 */
export async function runUp(o: LifecycleOptions, progress: Progress,
  prepare?: (opts: ReturnType<typeof parsePathOptions>, p: Progress) => Promise<PreparedTarget>): Promise<UpResult> {
  const opts = {
    ...parsePathOptions({ ...(o.context ? { context: o.context } : {}), ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), ...(o.scenario ? { scenario: o.scenario } : {}) }),
    keep: true,
  };
  const choose = prepare ?? (await import('./choose-target.js')).chooseTarget;
  const target = await choose(opts, progress);
  const deployment = await target.deploy({ runId: newRunId(), scenario: opts.scenario, progress });
  const entry = await target.entry();
  await target.release({ keep: true, created: deployment.created, progress });
  const where = [o.context ? `--context ${o.context}` : '', o.kubeconfig ? `--kubeconfig ${o.kubeconfig}` : ''].filter(Boolean).join(' ');
  return {
    target: target.target,
    istio: target.istio,
    entry: { address: entry.address, port: entry.port },
    applied: deployment.applied.length,
    next: `mesh-verify path --no-deploy${where ? ` ${where}` : ''}`,
  };
}

/**
 * `mesh-verify down`: with --context/--kubeconfig, delete every object labelled managed-by
 * mesh-verify (Istio stays); otherwise delete the kind cluster mesh-verify creates, if it exists.
 */
export async function runDown(o: LifecycleOptions, progress: Progress): Promise<string> {
  if (o.context || o.kubeconfig) {
    const clients = await connectKube({ ...(o.context ? { context: o.context } : {}), ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}) });
    const deleted = await deleteManaged(clients, { progress });
    return `deleted ${deleted.length} objects managed by mesh-verify on context ${clients.context} (Istio left installed)`;
  }
  if (!(await kindClusterExists(DEFAULT_KIND_CLUSTER))) return `no kind cluster ${DEFAULT_KIND_CLUSTER}: nothing to delete`;
  await deleteKindCluster(DEFAULT_KIND_CLUSTER, progress);
  return `deleted kind cluster ${DEFAULT_KIND_CLUSTER}`;
}
