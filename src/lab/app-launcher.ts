import { EnvironmentError } from '../core/errors.js';
import { MESH_NAMESPACE } from '../topology/reference.js';
import { LAB_PROGRAMS, type AppLaunch } from './envoy-plane.js';
import type { KubeControlPlane } from './kube-control-plane.js';
import type { LabKube } from './lab-kube.js';
import { ContainerStartError, containerLaunch, tokenRequests } from './pod-runtime.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The kubelet's part for the lab's app containers: their argv, env and volumes from the pod and
 * the ConfigMaps and Secrets the API holds (src/lab/pod-runtime.ts), with the projected
 * service-account tokens from the API's TokenRequest, bound to the pod as the kubelet asks.
 */
export function apiAppLaunch(kube: LabKube, cp: Pick<KubeControlPlane, 'api'>): AppLaunch {
  return async (role, podName, dir) => {
    const [pod, configMaps, secrets] = await Promise.all([kube.get('Pod', MESH_NAMESPACE, podName), kube.list('ConfigMap', MESH_NAMESPACE), kube.list('Secret', MESH_NAMESPACE)]);
    const data = (items: Json[]) => (ns: string, name: string) => { const o = items.find((i) => i.metadata.namespace === ns && i.metadata.name === name); return o ? o.data ?? {} : undefined; };
    const container = (pod?.spec?.containers ?? []).find((c: Json) => c.name !== 'istio-proxy')?.name as string | undefined;
    if (!pod || !container) throw new EnvironmentError(`the lab's runtime found no ${role} pod ${MESH_NAMESPACE}/${podName} with an app container`);
    // The kubelet's TokenRequest for each projected token: bound to the pod, for the audience asked.
    const tokens = new Map<string, string>();
    for (const { audience, expirationSeconds } of tokenRequests(pod)) {
      const sa = pod.spec?.serviceAccountName ?? 'default';
      const r = await cp.api('POST', `/api/v1/namespaces/${MESH_NAMESPACE}/serviceaccounts/${sa}/token`, {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
        spec: { ...(audience ? { audiences: [audience] } : {}), expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: podName, uid: pod.metadata.uid } },
      });
      if (r.status === 201 && r.body?.status?.token) tokens.set(audience, r.body.status.token as string);
    }
    try {
      return containerLaunch(pod, container, { configMap: data(configMaps), secret: data(secrets), serviceAccountToken: (a) => tokens.get(a) }, dir, LAB_PROGRAMS);
    } catch (err) {
      if (err instanceof ContainerStartError) throw new EnvironmentError(`the lab's runtime cannot start container ${container} of pod ${MESH_NAMESPACE}/${podName}: ${err.reason}: ${err.message}`);
      throw err;
    }
  };
}
