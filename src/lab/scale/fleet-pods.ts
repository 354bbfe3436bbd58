import type { LabPod } from '../types.js';
import { podFromLabPod } from '../kube/pod-object.js';

type Json = Record<string, any>;

/**
 * A fleet pod as it is created on the lab's real control plane: the Pod the fleet's plan
 * describes (src/lab/kube/pod-object.ts podFromLabPod: its containers, istio-proxy as a native
 * sidecar or a container, Istio's labels and annotations, sidecar.istio.io/status), bound to the
 * node (spec.nodeName: no scheduling) and without what the API and the node fill in themselves
 * (uid, creationTimestamp, status: kwok reports it Running and gives it its IP) or what would
 * name an owner that does not exist (the garbage collector deletes a pod whose owner is gone).
 */
export function fleetPodManifest(pod: LabPod, nodeName: string): Json {
  const o = podFromLabPod(pod, new Date(0).toISOString()) as unknown as Json;
  const { uid: _uid, creationTimestamp: _created, ownerReferences: _owner, ...metadata } = o.metadata as Json;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: { ...o.spec, nodeName } };
}

/** The ServiceAccounts the fleet's pods run as (the API refuses a pod whose ServiceAccount does not exist). */
export function fleetServiceAccounts(pods: readonly LabPod[]): Json[] {
  const seen = new Map<string, Json>();
  for (const p of pods) {
    const key = `${p.namespace}/${p.serviceAccount}`;
    if (!seen.has(key)) seen.set(key, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: p.serviceAccount, namespace: p.namespace } });
  }
  return [...seen.values()];
}
