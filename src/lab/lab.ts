import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError } from '../cli/errors.js';
import { createGatewayCredential } from '../topology/credentials.js';
import { buildTopology } from '../topology/manifests.js';
import { MESH_NAMESPACE } from '../topology/reference.js';
import type { ScenarioName } from '../topology/scenarios.js';
import { meshStateFromObjects, nonObjectState, sameMeshState, type IstioObject } from './control-plane.js';
import { asKubeObjects, istioInstallObjects } from './kube/cluster-seed.js';
import type { KubeObject } from './kube/object-store.js';
import { startKubeApi, type KubeApi } from './kube/server.js';
import type { LabFault, LabOptions, LabPod, MeshState, RunningLab } from './types.js';

/** What startLab needs of the data plane (src/lab/dataplane/index.ts). */
export interface LabDataPlane {
  state: MeshState;
  nlb: { host: string; port: number };
  publicHost: string;
  externalCaPem: string;
  meshRootPem: string;
  pods(): LabPod[];
  reconfigure(state: MeshState): unknown;
  stop(): Promise<void> | void;
}
export type StartDataPlane = (o: { state: MeshState; fault: LabFault | null; log?: (line: string) => void }) => Promise<LabDataPlane>;

export interface LabDependencies {
  /** Default: the real data plane (src/lab/dataplane). Tests pass a fake one. */
  startDataPlane?: StartDataPlane;
}

export type StartedLab = RunningLab & {
  api: KubeApi;
  /** Resolves when the data plane has taken every applied object into account. */
  settled(): Promise<void>;
};

/** The object-driven faults seed the same overlays `mesh-verify path --scenario` applies. */
const FAULT_SCENARIO: Partial<Record<LabFault, ScenarioName>> = {
  'plaintext-gateway-bff': 'dr-disable',
  'permissive-svc': 'permissive-svc',
  'no-sidecar-svc': 'no-sidecar-svc',
};

/** Kinds whose changes can change the MeshState. */
const CONTROL_KINDS = new Set(['PeerAuthentication', 'DestinationRule', 'Deployment', 'Namespace']);

/** The reference topology's objects as "mesh-verify up" would have applied them, plus the fault's. */
export async function labTopologyObjects(fault: LabFault | null): Promise<KubeObject[]> {
  const credential = await createGatewayCredential();
  const objects = asKubeObjects(buildTopology({ runId: 'lab', scenario: fault ? FAULT_SCENARIO[fault] ?? null : null, gatewayCredential: credential.secret }));
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

async function defaultDataPlane(): Promise<StartDataPlane> {
  const modulePath = './dataplane/index.js';
  try {
    const mod = (await import(modulePath)) as { startDataPlane: StartDataPlane };
    return mod.startDataPlane;
  } catch (err) {
    throw new EnvironmentError(`the lab's data plane could not be loaded: ${(err as Error).message}`, 'reinstall mesh-verify (npm install) and retry', { cause: err });
  }
}

/**
 * Start the lab: the data plane (real TLS on loopback) and the Kubernetes API double, seeded as
 * a kind cluster with Istio installed and the reference topology deployed. Objects applied later
 * are translated into MeshState (control-plane.ts) and pushed to the data plane, as istiod would.
 */
export async function startLab(opts: LabOptions = {}, deps: LabDependencies = {}): Promise<StartedLab> {
  const fault = opts.fault ?? null;
  const log = opts.log;
  const fixed = nonObjectState(fault);
  const seed = await labTopologyObjects(fault);
  const state = meshStateFromObjects(seed as IstioObject[], fault, fixed);
  const startDataPlane = deps.startDataPlane ?? await defaultDataPlane();

  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try { await c(); } catch (err) { log?.(`lab: stop: ${(err as Error).message}`); }
    }
  };
  try {
    const dp = await startDataPlane({ state, fault, log });
    cleanups.push(() => dp.stop());
    let fleet: { pods(): LabPod[]; objects(): unknown[]; stop(): Promise<void> } | null = null;
    if (opts.proxies && opts.proxies > 0) {
      const { startFleet } = await import('./scale/index.js');
      fleet = await startFleet({ count: opts.proxies, log });
      cleanups.push(() => fleet!.stop());
    }
    const api = await startKubeApi({ pods: () => (fleet ? [...dp.pods(), ...fleet.pods()] : dp.pods()), log });
    cleanups.push(() => api.close());

    const namespaces = seed.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    for (const o of [...istioInstallObjects(dp.meshRootPem, [...namespaces, 'default']), ...seed]) api.apply(o, 'mesh-verify');
    for (const o of fleet?.objects() ?? []) {
      try { api.apply(o as KubeObject, 'mesh-verify-fleet'); } catch (err) { log?.(`lab: fleet object skipped: ${(err as Error).message}`); }
    }

    // The lab's istiod: recompute the mesh state when a policy-relevant object changes.
    let current = state;
    let queue: Promise<void> = Promise.resolve();
    const recompute = () => {
      const objects = ['PeerAuthentication', 'DestinationRule', 'Deployment', 'Namespace'].flatMap((k) => api.store.list(k)) as IstioObject[];
      const next = meshStateFromObjects(objects, fault, fixed);
      if (sameMeshState(next, current)) return;
      current = next;
      log?.(`lab: istiod pushes a new mesh state: ${JSON.stringify(next)}`);
      queue = queue.then(async () => { await dp.reconfigure(next); }).catch((err) => { log?.(`lab: reconfigure failed: ${(err as Error).message}`); });
    };
    const unsubscribe = api.store.onChange((ev) => { if (CONTROL_KINDS.has(ev.object.kind)) recompute(); });
    cleanups.push(unsubscribe);
    recompute();

    let kubeconfigPath: string;
    if (opts.kubeconfigOut) {
      kubeconfigPath = opts.kubeconfigOut;
      await api.writeKubeconfig(kubeconfigPath);
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'mesh-verify-lab-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      kubeconfigPath = join(dir, 'kubeconfig');
      await api.writeKubeconfig(kubeconfigPath);
    }

    let stopped: Promise<void> | null = null;
    return {
      simulated: true,
      fault,
      get state() { return current; },
      nlb: dp.nlb,
      publicHost: dp.publicHost,
      externalCaPem: dp.externalCaPem,
      meshRootPem: dp.meshRootPem,
      apiServerUrl: api.url,
      kubeconfigPath,
      api,
      pods: () => (fleet ? [...dp.pods(), ...fleet.pods()] : dp.pods()),
      settled: () => queue,
      stop: () => (stopped ??= (async () => { await queue; await stopAll(); })()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
