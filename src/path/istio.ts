import type { RunMetadata } from '../bundle/types.js';
import { EnvironmentError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import { detectIstio, installIstio } from '../cluster/istioctl.js';
import type { KubeClients } from '../cluster/kube-client.js';
import { checkIstioctl } from '../cluster/preflight.js';
import { apiErrorCode } from '../cluster/kube-client.js';
import { GATEWAY_NAMESPACE } from '../topology/reference.js';
import { meshConfigGaps } from './mesh-config-check.js';

/**
 * Reuse the Istio already on the cluster (and say which), or install the pinned version with
 * istioctl when allowed. `installed` tells whether this run installed it.
 */
export async function ensureIstio(clients: KubeClients, opts: { install: boolean; kubeconfig?: string; progress: Progress }):
  Promise<{ istio: NonNullable<RunMetadata['istio']>; installed: boolean; notes: string[] }> {
  const found = await detectIstio(clients);
  if (found) {
    opts.progress.info(`Istio ${found.version} (revision ${found.revision}) found on context ${clients.context}: reusing it`);
    const notes = await reusedMeshConfigNotes(clients, found.revision);
    for (const n of notes) opts.progress.warn(n);
    return { istio: { version: found.version, revision: found.revision }, installed: false, notes };
  }
  if (!opts.install) {
    throw new EnvironmentError(`Istio is not installed on context ${clients.context} (no istiod pod found)`,
      'run mesh-verify up, or drop --no-deploy to install it');
  }
  await checkIstioctl();
  const { version } = await installIstio({ progress: opts.progress, context: clients.context, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}) });
  return { istio: { version, revision: 'default' }, installed: true, notes: [] };
}

/**
 * A reused Istio was not configured by mesh-verify: say which evidence its mesh config will not
 * produce (ConfigMap istio-system/istio, or istio-<revision>).
 */
async function reusedMeshConfigNotes(clients: KubeClients, revision: string): Promise<string[]> {
  const name = revision && revision !== 'default' ? `istio-${revision}` : 'istio';
  try {
    const cm = await clients.core.readNamespacedConfigMap({ name, namespace: GATEWAY_NAMESPACE });
    const { parse } = await import('yaml');
    const gaps = meshConfigGaps(parse(cm.data?.mesh ?? '') as unknown);
    return gaps.map((g) => `reused Istio: ${g} (install with fixtures/istio/istio-operator.yaml to get it)`);
  } catch (err) {
    const why = apiErrorCode(err) === 404 ? 'not found' : 'not readable';
    return [`reused Istio: mesh config ConfigMap ${GATEWAY_NAMESPACE}/${name} ${why}: cannot tell whether access logs and ssl stats are on`];
  }
}
