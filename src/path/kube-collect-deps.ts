import type { V1Pod } from '@kubernetes/client-node';
import { EnvironmentError } from '../core/errors.js';
import { limit } from '../cluster/limits.js';
import type { KubeClients } from '../cluster/kube-client.js';
import { apiErrorMessage } from '../cluster/kube-client.js';
import { openAdminTransport } from '../cluster/admin-transport.js';
import { readPodLog } from '../cluster/pod-logs.js';
import { isPodReady } from '../cluster/pod-status.js';
import type { CollectDeps, FoundPod } from '../collect/types.js';
import { ENVOY_ADMIN_PORT } from '../topology/reference.js';

/** The running pod to read: ready ones first, then the newest. */
export function choosePod(pods: readonly V1Pod[]): V1Pod | null {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running');
  const created = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
  live.sort((a, b) => Number(isPodReady(b)) - Number(isPodReady(a)) || created(b) - created(a));
  return live[0] ?? null;
}

export function foundPod(p: V1Pod): FoundPod {
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    ip: p.status?.podIP ?? null,
    containers: [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].map((c) => c.name),
  };
}

/** Collection through the Kubernetes API: pods by label, admin port by port-forward (exec fallback), logs. */
export function kubeCollectDeps(clients: KubeClients): CollectDeps {
  return {
    async findPod(target) {
      let items: V1Pod[];
      try {
        items = (await clients.core.listNamespacedPod({ namespace: target.namespace, labelSelector: target.selector })).items;
      } catch (err) {
        if (err instanceof EnvironmentError) throw err;
        throw new Error(apiErrorMessage(err));
      }
      const p = choosePod(items);
      return p ? foundPod(p) : null;
    },
    openAdmin: (pod) => openAdminTransport(clients, pod, { port: ENVOY_ADMIN_PORT, allowExec: true }),
    readLog: (pod, container, sinceSeconds) => readPodLog(clients, pod.namespace, pod.name, container, { sinceSeconds, timeoutMs: limit('LOG_READ_TIMEOUT_MS') }),
  };
}
