import { apiRequest, type KubeClients } from './kube-client.js';

/**
 * The mesh-verify lab names itself in this ConfigMap (src/lab/kube-lab.ts writes it), the way
 * kube-public/cluster-info describes a cluster: a run against it reports a simulation.
 */
export const LAB_MARKER = { namespace: 'kube-public', name: 'mesh-verify-lab' } as const;

/** Is this API server the mesh-verify lab? (Its marker ConfigMap is there: a cluster's never is.) */
export async function isLabApi(c: KubeClients): Promise<boolean> {
  try {
    const res = await apiRequest(c.kc, 'GET', `/api/v1/namespaces/${LAB_MARKER.namespace}/configmaps/${LAB_MARKER.name}`, { timeoutMs: 5_000 });
    return res.status === 200;
  } catch {
    return false;
  }
}
