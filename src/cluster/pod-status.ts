import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

/** The Istio sidecar container (a regular container, or a native sidecar init container). */
export const SIDECAR_CONTAINER = 'istio-proxy';

/** Status of a named container, in `containers` or (native sidecars) `initContainers`. */
export function containerStatus(pod: V1Pod, name: string): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === name)
    ?? pod.status?.initContainerStatuses?.find((c) => c.name === name);
}

/** Does the pod spec carry a sidecar (declared, whatever its state)? */
export function hasSidecar(pod: V1Pod): boolean {
  return Boolean(pod.spec?.containers?.some((c) => c.name === SIDECAR_CONTAINER)
    || pod.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER));
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running'
    && Boolean(pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

/**
 * Why a pod is not (yet) ready, in one short phrase: the first container that is waiting or
 * terminated with its reason, else an unschedulable condition, else the phase.
 * Returns null when the pod is ready (and has its sidecar ready, if required).
 */
export function podProblem(pod: V1Pod, requireSidecar = false): string | null {
  const name = pod.metadata?.name ?? '?';
  if (pod.metadata?.deletionTimestamp) return `pod ${name} is terminating`;
  if (requireSidecar && !hasSidecar(pod)) {
    return `pod ${name} has no ${SIDECAR_CONTAINER} container (sidecar injection is off for it or its namespace)`;
  }
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of statuses) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'PodInitializing' && waiting.reason !== 'ContainerCreating') {
      return `pod ${name}: container ${c.name} waiting: ${waiting.reason}${waiting.message ? ` (${firstLine(waiting.message)})` : ''}`;
    }
    const term = c.state?.terminated;
    const isInit = pod.status?.initContainerStatuses?.includes(c) && c.name !== SIDECAR_CONTAINER;
    if (term && !(isInit && term.exitCode === 0)) {
      return `pod ${name}: container ${c.name} terminated: ${term.reason ?? 'exit code ' + term.exitCode}`;
    }
  }
  const unsched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unsched) return `pod ${name} is not scheduled: ${unsched.reason ?? ''}${unsched.message ? ` (${firstLine(unsched.message)})` : ''}`.trim();
  if (pod.status?.phase !== 'Running') return `pod ${name} is ${pod.status?.phase ?? 'Pending'}`;
  if (requireSidecar) {
    const proxy = containerStatus(pod, SIDECAR_CONTAINER);
    if (!proxy?.ready) return `pod ${name}: container ${SIDECAR_CONTAINER} is not ready`;
  }
  const notReady = (pod.status?.containerStatuses ?? []).find((c) => !c.ready);
  if (notReady) return `pod ${name}: container ${notReady.name} is not ready (readiness probe failing?)`;
  if (!isPodReady(pod)) return `pod ${name} is not Ready`;
  return null;
}

function firstLine(s: string): string {
  const line = s.split('\n')[0];
  return line.length > 160 ? line.slice(0, 157) + '...' : line;
}
