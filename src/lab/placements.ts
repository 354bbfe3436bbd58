import { BFF_WORKLOAD, GATEWAY_WORKLOAD, MESH_NAMESPACE, SVC_WORKLOAD, spiffeId, type Workload } from '../topology/reference.js';

/** Where a lab proxy runs: its workload, its kind (sidecar, or router for the gateway) and its pod. */
export interface ProxyPlacement {
  workload: Workload;
  kind: 'sidecar' | 'router';
  podName: string;
  labels: Record<string, string>;
}

/** Pod names the lab reports for its workloads (stable across starts; the IPs are the lab's loopback addresses). */
export const POD_NAMES = {
  gateway: 'istio-ingressgateway-6d8f9b7c4d-lab01',
  bff: 'bff-7b9c6d5f8-lab02',
  svc: 'svc-5c8d7f9b6-lab03',
  caller: 'legacy-client-84f7c9d6b-lab04',
} as const;

/** The plaintext caller of fault permissive-svc: a workload without a sidecar. */
export const CALLER_WORKLOAD: Workload = {
  id: 'legacy-client', namespace: MESH_NAMESPACE, name: 'legacy-client', serviceAccount: 'legacy-client',
  spiffeId: spiffeId(MESH_NAMESPACE, 'legacy-client'), port: 8080,
};

export function workloadLabels(w: Workload, sidecar: boolean): Record<string, string> {
  const app = w.id === 'gateway' ? 'istio-ingressgateway' : w.name;
  const labels: Record<string, string> = {
    app,
    'service.istio.io/canonical-name': app,
    'service.istio.io/canonical-revision': 'latest',
  };
  if (w.id === 'gateway') labels.istio = 'ingressgateway';
  else if (sidecar) labels['security.istio.io/tlsMode'] = 'istio';
  return labels;
}

export function placementFor(id: 'gateway' | 'bff' | 'svc'): ProxyPlacement {
  const workload = id === 'gateway' ? GATEWAY_WORKLOAD : id === 'bff' ? BFF_WORKLOAD : SVC_WORKLOAD;
  return { workload, kind: id === 'gateway' ? 'router' : 'sidecar', podName: POD_NAMES[id], labels: workloadLabels(workload, true) };
}
