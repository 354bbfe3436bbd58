import { createGatewayCredential, gatewayCaConfigMap, type GatewayCredential } from '../topology/credentials.js';
import { buildTopology } from '../topology/manifests.js';
import { GATEWAY_NAMESPACE, MESH_NAMESPACE } from '../topology/reference.js';
import { MESH_CONFIGMAP } from './control-plane.js';
import type { ScenarioName } from '../topology/scenarios.js';
import { asKubeObjects } from './istio-install.js';
import type { KubeObject } from './types.js';
import type { LabFault, MeshState, RunningLab } from './types.js';

/** The object-driven faults seed the same overlays `mesh-verify path --scenario` applies. */
const FAULT_SCENARIO: Partial<Record<LabFault, ScenarioName>> = {
  'plaintext-gateway-bff': 'dr-disable',
  'permissive-svc': 'permissive-svc',
  'no-sidecar-svc': 'no-sidecar-svc',
};

/** Kinds whose changes can change the MeshState. */
export const CONTROL_KINDS = new Set(['PeerAuthentication', 'DestinationRule', 'Deployment', 'Namespace', 'Gateway', 'EnvoyFilter']);
/** The mesh config istiod watches, ConfigMap istio-system/istio, changes the MeshState too. */
export const isMeshConfig = (o: KubeObject) => o.kind === 'ConfigMap' && o.metadata.namespace === GATEWAY_NAMESPACE && o.metadata.name === MESH_CONFIGMAP;

/** The reference topology's objects as "mesh-verify up" would have applied them, plus the fault's. */
export async function labTopologyObjects(fault: LabFault | null, credential?: GatewayCredential): Promise<KubeObject[]> {
  credential ??= await createGatewayCredential();
  const objects = asKubeObjects([
    ...buildTopology({ runId: 'lab', scenario: fault ? FAULT_SCENARIO[fault] ?? null : null, gatewayCredential: credential.secret }),
    // As `mesh-verify up` leaves it: the public CA beside the topology, for `path --no-deploy`.
    gatewayCaConfigMap(credential.caPem),
  ]);
  if (fault === 'plaintext-gateway-bff') {
    // Plaintext from the gateway is only accepted when bff's sidecar is PERMISSIVE.
    objects.push({
      apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication',
      metadata: { name: 'bff-permissive', namespace: MESH_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'mesh-verify', 'mesh-verify.io/run': 'lab' } },
      spec: { selector: { matchLabels: { app: 'bff' } }, mtls: { mode: 'PERMISSIVE' } },
    });
  }
  return objects;
}


/**
 * What every running lab reports of its data plane (RunningLab's data-plane fields): the state and
 * the external CA are read when asked (they change with pushes), then `rest` (its API, its stop).
 */
export function labHandle<T extends object>(dp: LabDataPlaneView, fault: LabFault | null, state: () => MeshState, rest: T): RunningLabCore & T {
  const view: RunningLabCore = {
    simulated: true,
    envoy: dp.envoy,
    fault,
    get state() { return state(); },
    nlb: dp.nlb,
    ...(dp.podNetwork ? { podNetwork: () => dp.podNetwork!() } : {}),
    publicHost: dp.publicHost,
    get externalCaPem() { return dp.externalCaPem; },
    meshRootPem: dp.meshRootPem,
  };
  // Read when asked: a re-created pod brings another IP.
  if (dp.addresses) Object.defineProperty(view, 'addresses', { get: () => dp.addresses, enumerable: true });
  return Object.assign(view, rest);
}

type RunningLabCore = Pick<RunningLab, 'simulated' | 'envoy' | 'fault' | 'state' | 'nlb' | 'addresses' | 'podNetwork' | 'publicHost' | 'externalCaPem' | 'meshRootPem'>;
type LabDataPlaneView = Pick<RunningLab, 'envoy' | 'nlb' | 'addresses' | 'podNetwork' | 'publicHost' | 'externalCaPem' | 'meshRootPem'>;
