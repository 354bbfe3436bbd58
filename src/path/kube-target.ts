import type { PathSpec, RunMetadata } from '../bundle/types.js';
import type { Progress } from '../core/progress.js';
import { deleteRefs } from '../cluster/cleanup.js';
import { resolveEntry } from '../cluster/entry.js';
import type { KubeClients } from '../cluster/kube-client.js';
import { DEFAULT_GATEWAY, PUBLIC_HOST, type IngressGateway } from '../topology/reference.js';
import { deployTopology, readDeployedCa } from './deploy.js';
import { restorePrior, type RunChanges } from './managed-inventory.js';
import { kubeCollectDeps } from './kube-collect-deps.js';
import type { PreparedTarget } from './target.js';

export interface KubeTargetOptions {
  clients: KubeClients;
  target: RunMetadata['target'];
  istio: RunMetadata['istio'];
  notes?: string[];
  /** Where the client connects when it is not found from the gateway Service (the lab's NLB). */
  entry?: PathSpec['entry'];
  host?: string;
  /** The ingress gateway found from its Service (default: istioctl's istio-system/istio-ingressgateway). */
  gateway?: IngressGateway;
  /** The API server is the lab's: an entry its gateway Service publishes is the lab's NLB. */
  labApi?: boolean;
  /** Bound for rollouts and readiness waits. */
  waitTimeoutMs: number;
  pollMs?: number;
  /** Runs after the applied objects are deleted (delete the kind cluster, stop the lab). */
  afterRelease?: (keep: boolean, progress: Progress) => Promise<void>;
}

/** A PreparedTarget that does everything through the Kubernetes API of `clients`. */
export function kubeTarget(o: KubeTargetOptions): PreparedTarget {
  const host = o.host ?? PUBLIC_HOST;
  const gateway = o.gateway ?? DEFAULT_GATEWAY;
  // Recorded before the first apply, so that a run failing or interrupted during the deploy is undone too.
  let changes: RunChanges | null = null;
  return {
    target: o.target,
    istio: o.istio,
    host,
    gateway,
    notes: o.notes ?? [],
    async deploy({ runId, scenario, progress }) {
      return deployTopology(o.clients, {
        runId, scenario, host, gateway, progress, timeoutMs: o.waitTimeoutMs, ...(o.pollMs ? { pollMs: o.pollMs } : {}),
        onChanges: (c) => { changes = c; },
      });
    },
    deployedCa: () => readDeployedCa(o.clients),
    entry: async () => o.entry ?? resolveEntry(o.clients, { namespace: gateway.namespace, service: gateway.service, lab: o.labApi === true }),
    collectDeps: () => kubeCollectDeps(o.clients),
    async release({ keep, created, progress }) {
      try {
        if (!keep) await undoRun(o.clients, changes ?? { prior: [], created }, progress);
      } finally {
        await o.afterRelease?.(keep, progress);
      }
    },
  };
}

/** Put back what the run changed (as it was before), then delete what it created. */
async function undoRun(clients: KubeClients, changes: RunChanges, progress: Progress): Promise<void> {
  if (changes.prior.length > 0) {
    const step = progress.step(`restoring the ${changes.prior.length} objects this run changed to their state before the run`);
    try {
      const back = await restorePrior(clients, changes.prior);
      step.succeed(`restored ${back.length} objects to their state before the run`);
    } catch (err) {
      step.fail(`restore failed: ${(err as Error).message}`);
      throw err;
    }
  }
  if (changes.created.length > 0) {
    const step = progress.step(`deleting the ${changes.created.length} objects this run created`);
    try {
      const gone = await deleteRefs(clients, changes.created);
      step.succeed(`deleted ${gone.length} objects this run created`);
    } catch (err) {
      step.fail(`cleanup failed: ${(err as Error).message}`);
      throw err;
    }
  }
}
