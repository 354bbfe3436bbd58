import type { RunMetadata } from '../bundle/types.js';
import type { Progress } from '../core/progress.js';
import { DEFAULT_KIND_CLUSTER, KIND_CONFIG_FILE, createKindCluster, deleteKindCluster, kindClusterExists, kindContextName } from '../cluster/kind.js';
import type { KubeClients } from '../cluster/kube-client.js';
import { findGateway } from '../cluster/gateway.js';
import { checkRights, pathAccessChecks, runPreflight } from '../cluster/preflight.js';
import { isLabApi } from '../cluster/lab-marker.js';
import { GATEWAY_NAMESPACE, gatewayListenerName } from '../topology/reference.js';
import { labDescription } from './lab-target.js';
import { ensureIstio } from './istio.js';
import { kubeTarget } from './kube-target.js';
import type { PathOptions } from './options.js';
import type { PreparedTarget } from './target.js';

/** Bound for rollouts and readiness on a real cluster (image pulls included). */
const CLUSTER_WAIT_MS = 5 * 60_000;

export type TargetOptions = Pick<PathOptions, 'context' | 'kubeconfig' | 'deploy' | 'keep' | 'entry'> & Partial<Pick<PathOptions, 'gateway'>>;

/** Any existing cluster: --context / --kubeconfig (or the current context). Istio reused or installed. */
export async function prepareCluster(opts: TargetOptions, progress: Progress): Promise<PreparedTarget> {
  const kube = { ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) };
  const rights = { deploy: opts.deploy, cleanup: opts.deploy && !opts.keep, ...(opts.gateway ? { gatewayNamespace: opts.gateway.namespace } : {}) };
  const { clients } = await runPreflight({ kube, rights: pathAccessChecks(rights), progress });
  const c = clients as KubeClients;
  const simulated = await isLabApi(c);
  if (simulated) progress.info('this API server is the mesh-verify lab (a simulation): the report will say so');
  const { istio, installed, notes: istioNotes } = await ensureIstio(c, { install: opts.deploy && !simulated, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), progress });
  const gateway = await locateGateway(c, opts, rights, progress);
  return kubeTarget({
    clients: c,
    gateway,
    labApi: simulated,
    target: simulated
      ? { kind: 'lab', simulated: true, context: c.context, server: c.server, description: `${labDescription(null)}, reached through kubeconfig context ${c.context}` }
      : clusterTarget('cluster', c, `Kubernetes cluster (context ${c.context})`),
    istio,
    notes: installed ? [`Istio ${istio.version} was installed by this run (istioctl) and is left in place`] : istioNotes,
    waitTimeoutMs: CLUSTER_WAIT_MS,
    ...(opts.entry ? { entry: { ...opts.entry, kind: 'custom' as const } } : {}),
  });
}

/**
 * The kind cluster `mesh-verify` (fixtures/kind/cluster.yaml): reused when it exists, else
 * created; deleted at the end of the run only if this run created it and --keep is not set.
 */
export async function prepareKind(opts: TargetOptions, progress: Progress): Promise<PreparedTarget> {
  const name = DEFAULT_KIND_CLUSTER;
  await runPreflight({ docker: true, kind: true, kube: null, progress });
  let created = false;
  if (await kindClusterExists(name)) {
    progress.info(`kind cluster ${name} exists: reusing it`);
  } else {
    await createKindCluster(name, KIND_CONFIG_FILE, progress);
    created = true;
  }
  const dropCluster = async (keep: boolean, p: Progress) => {
    if (!created) return;
    if (keep) p.info(`kept kind cluster ${name} (delete it with: mesh-verify down)`);
    else await deleteKindCluster(name, p);
  };
  try {
    const { clients } = await runPreflight({ kube: { context: kindContextName(name) }, rights: pathAccessChecks({ deploy: opts.deploy, cleanup: opts.deploy && !opts.keep }), progress });
    const c = clients as KubeClients;
    const { istio, notes } = await ensureIstio(c, { install: opts.deploy, progress });
    const gateway = await locateGateway(c, opts, { deploy: opts.deploy, cleanup: opts.deploy && !opts.keep }, progress);
    return kubeTarget({
      clients: c,
      gateway,
      target: clusterTarget('kind', c, `kind cluster ${name}${created ? ' (created by this run)' : ''}`),
      istio,
      waitTimeoutMs: CLUSTER_WAIT_MS,
      afterRelease: dropCluster,
      notes,
      ...(opts.entry ? { entry: { ...opts.entry, kind: 'custom' as const } } : {}),
    });
  } catch (err) {
    await dropCluster(opts.keep, progress).catch(() => {});
    throw err;
  }
}

/**
 * The ingress gateway from its Service (--gateway, else istioctl's, else the cluster's one
 * gateway-like Service). Found in another namespace than the preflight checked: its rights there too.
 */
async function locateGateway(c: KubeClients, opts: TargetOptions, rights: Parameters<typeof pathAccessChecks>[0], progress: Progress) {
  const step = progress.step(`finding the ingress gateway${opts.gateway ? ` ${opts.gateway.namespace}/${opts.gateway.name}` : ''}`);
  try {
    const gateway = await findGateway(c, { ref: opts.gateway ?? null, onInfo: (l) => progress.info(l) });
    const checked = rights.gatewayNamespace ?? GATEWAY_NAMESPACE;
    if (gateway.namespace !== checked) {
      const r = await checkRights(c, pathAccessChecks({ ...rights, gatewayNamespace: gateway.namespace }).filter((x) => x.namespace === gateway.namespace));
      if (r.warning) progress.warn(r.warning);
    }
    step.succeed(`ingress gateway: Service ${gateway.namespace}/${gateway.service}, pods ${Object.entries(gateway.podLabels).map(([k, v]) => `${k}=${v}`).join(',')}, listener ${gatewayListenerName(gateway)} (port ${gateway.httpsPort} -> ${gateway.targetPort}), identity ${gateway.spiffeId}`);
    return gateway;
  } catch (err) {
    step.fail('ingress gateway not found');
    throw err;
  }
}

function clusterTarget(kind: 'kind' | 'cluster', c: KubeClients, description: string): RunMetadata['target'] {
  return { kind, simulated: false, context: c.context, server: c.server, description };
}
