import { EnvironmentError, MeshVerifyError } from '../core/errors.js';
import { apiRequest, describeConnectFailure, type KubeClients } from './kube-client.js';

/**
 * The mesh-verify lab names itself in this ConfigMap (src/lab/kube-lab.ts writes it), the way
 * kube-public/cluster-info describes a cluster: a run against it reports a simulation.
 */
export const LAB_MARKER = { namespace: 'kube-public', name: 'mesh-verify-lab' } as const;

/**
 * Is this API server the mesh-verify lab? (Its marker ConfigMap is there: a cluster's never is.)
 * Not there (404) or not ours to read (401, 403) is "no"; a server that does not answer, or
 * answers with an error, fails here as it would on the next read, instead of being taken for a
 * cluster and waited for again.
 */
export async function isLabApi(c: KubeClients, timeoutMs?: number): Promise<boolean> {
  const path = `/api/v1/namespaces/${LAB_MARKER.namespace}/configmaps/${LAB_MARKER.name}`;
  let status: number;
  let body: string;
  try {
    ({ status, body } = await apiRequest(c.kc, 'GET', path, timeoutMs === undefined ? {} : { timeoutMs }));
  } catch (err) {
    if (err instanceof MeshVerifyError) throw err;
    // A transport error (TLS, reset, refused): the words the connection check gives it.
    const d = describeConnectFailure(err, { server: c.server, context: c.context });
    throw new EnvironmentError(`${d.message} (GET ${path})`, d.fix, { cause: err });
  }
  if (status === 200) return isMarker(body);
  if (status === 401 || status === 403 || status === 404) return false;
  throw new EnvironmentError(`Kubernetes API ${c.server}: GET ${path}: HTTP ${status}`,
    'check that the server URL points at a healthy Kubernetes API server (kubectl get --raw /readyz)');
}

function isMarker(body: string): boolean {
  try {
    const o = JSON.parse(body) as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    return o.kind === 'ConfigMap' && o.metadata?.name === LAB_MARKER.name && o.metadata?.namespace === LAB_MARKER.namespace;
  } catch {
    return false;
  }
}
