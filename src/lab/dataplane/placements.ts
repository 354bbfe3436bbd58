import { BFF_WORKLOAD, GATEWAY_WORKLOAD, MESH_NAMESPACE, SVC_WORKLOAD, spiffeId, type Workload } from '../../topology/reference.js';
import type { MetricWorkload } from './istio-metrics.js';
import type { ProxyPlacement } from './lab-proxy.js';

/** Pod names and IPs the lab reports for its workloads (stable across starts). */
export const POD_NAMES = {
  gateway: 'istio-ingressgateway-6d8f9b7c4d-lab01',
  bff: 'bff-7b9c6d5f8-lab02',
  svc: 'svc-5c8d7f9b6-lab03',
  caller: 'legacy-client-84f7c9d6b-lab04',
} as const;
export const POD_IPS = { gateway: '10.244.0.10', bff: '10.244.0.11', svc: '10.244.0.12', caller: '10.244.0.13' } as const;

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
  return { workload, kind: id === 'gateway' ? 'router' : 'sidecar', podName: POD_NAMES[id], podIp: POD_IPS[id], labels: workloadLabels(workload, true) };
}

export function metricWorkload(w: Workload): MetricWorkload {
  const app = w.id === 'gateway' ? 'istio-ingressgateway' : w.name;
  return { name: w.name, namespace: w.namespace, app, version: 'unknown', canonicalService: app, canonicalRevision: 'latest' };
}
