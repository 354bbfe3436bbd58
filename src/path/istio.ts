import type { RunMetadata } from '../bundle/types.js';
import { EnvironmentError } from '../cli/errors.js';
import type { Progress } from '../cli/progress.js';
import { detectIstio, installIstio } from '../cluster/istioctl.js';
import type { KubeClients } from '../cluster/kube-client.js';
import { checkIstioctl } from '../cluster/preflight.js';

/**
 * Reuse the Istio already on the cluster (and say which), or install the pinned version with
 * istioctl when allowed. `installed` tells whether this run installed it.
 */
export async function ensureIstio(clients: KubeClients, opts: { install: boolean; kubeconfig?: string; progress: Progress }):
  Promise<{ istio: NonNullable<RunMetadata['istio']>; installed: boolean }> {
  const found = await detectIstio(clients);
  if (found) {
    opts.progress.info(`Istio ${found.version} (revision ${found.revision}) found on context ${clients.context}: reusing it`);
    return { istio: { version: found.version, revision: found.revision }, installed: false };
  }
  if (!opts.install) {
    throw new EnvironmentError(`Istio is not installed on context ${clients.context} (no istiod pod found)`,
      'run mesh-verify up, or drop --no-deploy to install it');
  }
  await checkIstioctl();
  const { version } = await installIstio({ progress: opts.progress, context: clients.context, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}) });
  return { istio: { version, revision: 'default' }, installed: true };
}
