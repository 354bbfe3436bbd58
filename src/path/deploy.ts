import type { Progress } from '../core/progress.js';
import { applyObjects, type AppliedRef } from '../cluster/apply.js';
import { deleteRefs } from '../cluster/cleanup.js';
import type { KubeClients } from '../cluster/kube-client.js';
import { apiErrorCode, apiErrorMessage } from '../cluster/kube-client.js';
import { waitForPodsReady, waitForRollouts } from '../cluster/wait.js';
import { EnvironmentError } from '../core/errors.js';
import { GATEWAY_CA_CONFIGMAP, createGatewayCredential, gatewayCaConfigMap, storedCredential, type GatewayCredential } from '../topology/credentials.js';
import { buildTopology } from '../topology/manifests.js';
import { DEFAULT_GATEWAY, GATEWAY_CREDENTIAL, MESH_NAMESPACE, type IngressGateway } from '../topology/reference.js';
import { SCENARIOS, type ScenarioName } from '../topology/scenarios.js';
import { leftovers, listManaged, recordChanges, specOf, type RunChanges } from './managed-inventory.js';
import { referenceTargets } from './targets.js';

export interface DeployOptions {
  runId: string;
  scenario: ScenarioName | null;
  host: string;
  progress?: Progress;
  /** Bound for rollouts and pod readiness (each). */
  timeoutMs: number;
  pollMs?: number;
  /** Called with what the run is about to change, before the first apply (so a failed run can undo it). */
  onChanges?: (changes: RunChanges) => void;
  /** The ingress gateway found from its Service (default: istioctl's). */
  gateway?: IngressGateway;
}

export interface Deployment {
  caPem: string;
  /** The gateway's server certificate this deploy stored: what the gateway must serve before the probe (null: not known). */
  serverCertPem: string | null;
  /** The stored credential was valid and is served already (no new one was pushed). */
  credentialReused: boolean;
  applied: AppliedRef[];
  /** What did not exist before this run (what Ctrl-C / the end of the run removes; what it
   *  applied over is put back from DeployOptions.onChanges). */
  created: AppliedRef[];
}

/**
 * Deploy the reference topology (or a scenario's variant): a fresh gateway credential, server-side
 * apply of every object, removal of objects another scenario left behind, then wait for the
 * rollouts and for the gateway, bff and svc pods (with their sidecars) to be ready.
 */
export async function deployTopology(clients: KubeClients, opts: DeployOptions): Promise<Deployment> {
  const before = await listManaged(clients);
  const gateway = opts.gateway ?? DEFAULT_GATEWAY;
  const credential = await gatewayCredential(clients, gateway, opts);
  const objects = [...buildTopology({ runId: opts.runId, scenario: opts.scenario, gatewayCredential: credential.secret, gateway }), gatewayCaConfigMap(credential.caPem)];
  if (opts.scenario) opts.progress?.info(`scenario ${opts.scenario}: ${SCENARIOS[opts.scenario].description}`);
  const changes = await recordChanges(clients, objects);
  opts.onChanges?.(changes);
  const applied = await applyObjects(clients, objects, { runId: opts.runId, progress: opts.progress });
  const stale = leftovers(before, applied);
  if (stale.length > 0) {
    const step = opts.progress?.step(`removing ${stale.length} objects left by an earlier run`);
    // Saved first: they are put back with the rest when the run ends.
    changes.prior.push(...(await recordChanges(clients, stale.map(specOf))).prior);
    await deleteRefs(clients, stale);
    step?.succeed(`removed ${stale.length} objects left by an earlier run: ${stale.map((r) => `${r.kind} ${r.name}`).join(', ')}`);
  }
  const wait = { timeoutMs: opts.timeoutMs, progress: opts.progress, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) };
  await waitForRollouts(clients, applied, wait);
  for (const t of referenceTargets(gateway)) {
    const requireSidecar = !(t.id === 'svc' && opts.scenario === 'no-sidecar-svc');
    await waitForPodsReady(clients, t.namespace, t.selector, { ...wait, requireSidecar });
  }
  return { caPem: credential.caPem, serverCertPem: credential.serverCertPem, credentialReused: credential.reused, applied, created: changes.created };
}

/**
 * The credential an earlier run stored when it is still good (storedCredential), else a new one.
 * A new one is pushed to the gateway by SDS some time after the apply; a reused one is served already.
 */
async function gatewayCredential(clients: KubeClients, gateway: IngressGateway, opts: DeployOptions): Promise<GatewayCredential & { reused: boolean }> {
  let secret: Parameters<typeof storedCredential>[0]['secret'] = null;
  try {
    secret = await clients.core.readNamespacedSecret({ name: GATEWAY_CREDENTIAL, namespace: gateway.namespace });
  } catch (err) {
    const code = apiErrorCode(err);
    if (code !== 404 && code !== 403) throw new EnvironmentError(`reading Secret ${gateway.namespace}/${GATEWAY_CREDENTIAL} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
    if (code === 403) opts.progress?.warn(`cannot read Secret ${gateway.namespace}/${GATEWAY_CREDENTIAL} (forbidden): a new gateway credential is made`);
  }
  const stored = storedCredential({ secret, caPem: secret ? await readDeployedCa(clients) : null, host: opts.host });
  if (stored.credential) {
    opts.progress?.info(`reusing the gateway credential stored in Secret ${gateway.namespace}/${GATEWAY_CREDENTIAL} (still valid for ${opts.host})`);
    return { ...stored.credential, reused: true };
  }
  if (secret) opts.progress?.info(`a new gateway credential: ${stored.reason}`);
  return { ...await createGatewayCredential({ host: opts.host, namespace: gateway.namespace }), reused: false };
}

/** The gateway CA a previous deploy stored, or null when there is none. */
export async function readDeployedCa(clients: KubeClients): Promise<string | null> {
  try {
    const cm = await clients.core.readNamespacedConfigMap({ name: GATEWAY_CA_CONFIGMAP, namespace: MESH_NAMESPACE });
    return cm.data?.['ca.crt'] ?? null;
  } catch (err) {
    if (apiErrorCode(err) === 404) return null;
    throw new EnvironmentError(`reading ConfigMap ${MESH_NAMESPACE}/${GATEWAY_CA_CONFIGMAP} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
  }
}
