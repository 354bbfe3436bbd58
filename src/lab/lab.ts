import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATEWAY_CA_CONFIGMAP, createGatewayCredential, type GatewayCredential } from '../topology/credentials.js';
import { GATEWAY_CREDENTIAL, GATEWAY_NAMESPACE, MESH_NAMESPACE } from '../topology/reference.js';
import { MESH_CONFIGMAP, meshStateFromObjects, nonObjectState, sameMeshState, type IstioObject } from './control-plane.js';
import { CONTROL_KINDS, isMeshConfig, labHandle, labTopologyObjects } from './lab-objects.js';
import { startKubeLab, type KubeLab } from './kube-lab.js';
import { istioInstallObjects, meshConfigMap } from './istio-install.js';
import type { KubeObject } from './types.js';
import { podLookup, type PodLookup } from './kube/pod-lookup.js';
import { startKubeApi, type KubeApi } from './kube/server.js';
import { startDataPlane as startRealDataPlane, type DataPlane } from './envoy-plane.js';
import type { RunningFleet } from './scale/index.js';
import type { LabFault, LabOptions, MeshState, RunningLab } from './types.js';
import { UsageError } from '../core/errors.js';

/** What startLab needs of the data plane (src/lab/envoy-plane.ts, real Envoy); kube API tests pass a double. */
export type LabDataPlane = Pick<DataPlane, 'envoy' | 'state' | 'nlb' | 'publicHost' | 'externalCaPem' | 'meshRootPem' | 'pods' | 'reconfigure' | 'setGatewayCredential' | 'stop'>
  & Partial<Pick<DataPlane, 'addresses'>>;
export type StartDataPlane = (o: {
  state: MeshState; fault: LabFault | null; log?: (line: string) => void;
  /** The credential stored in the gateway's Secret: the gateway serves exactly this certificate. */
  gatewayCredential?: GatewayCredential;
  envoyPath?: string;
}) => Promise<LabDataPlane>;

export interface LabDependencies {
  /** Default: the real Envoy data plane (src/lab/envoy-plane.ts). */
  startDataPlane?: StartDataPlane;
}

/** The reference lab on a real Kubernetes control plane (src/lab/kube-lab.ts). */
export type StartedLab = KubeLab;

/** The scale fleet's lab: the Kubernetes API double (a real control plane holding 1,000 proxies is not tried here yet). */
export type FleetLab = RunningLab & {
  api: KubeApi;
  /** Resolves when the data plane has taken every applied object into account. */
  settled(): Promise<void>;
  /** With `proxies`: the scale fleet's ground truth (what an audit must find, and nothing else). */
  fleet?: Pick<RunningFleet, 'planted'>;
};

const ROOT_CONFIGMAP = 'istio-ca-root-cert';

/**
 * The reference install plus the scale fleet, merged deliberately (one object per name):
 * - istiod and the mesh-wide PeerAuthentication come from the fleet (its control plane is the
 *   Istio release every lab proxy reports; the fleet's mesh-wide STRICT is the reference's intent);
 * - every istio-ca-root-cert ConfigMap holds both roots, the fleet's and the reference data
 *   plane's, as a trust bundle does during a root migration: both sets of workloads chain to a
 *   current root, while the fleet's planted stale-root proxies still do not.
 */
export function mergeFleetObjects(reference: KubeObject[], fleetObjects: KubeObject[], referenceRootPem: string): KubeObject[] {
  const keyOf = (o: KubeObject) => `${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;
  const fleetRoot = fleetObjects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ROOT_CONFIGMAP) as { data?: Record<string, string> } | undefined;
  const bundle = [fleetRoot?.data?.['root-cert.pem'] ?? '', referenceRootPem].map((p) => p.trim()).filter(Boolean).join('\n') + '\n';
  const byKey = new Map<string, KubeObject>();
  for (const o of [...reference, ...fleetObjects]) {
    const k = keyOf(o);
    const prev = byKey.get(k);
    if (prev && o.kind === 'Namespace') {
      // Both sides' labels (injection) and nothing lost.
      byKey.set(k, { ...prev, metadata: { ...prev.metadata, labels: { ...(prev.metadata.labels ?? {}), ...(o.metadata.labels ?? {}) } } });
      continue;
    }
    byKey.set(k, o);
  }
  for (const [k, o] of byKey) {
    if (o.kind === 'ConfigMap' && o.metadata.name === ROOT_CONFIGMAP) byKey.set(k, { ...o, data: { 'root-cert.pem': bundle } });
  }
  return [...byKey.values()];
}

/**
 * One pod of `[...dp.pods(), ...fleet.pods()]` by namespace and name without building that list
 * (the API looks a pod up on every port-forward): the fleet's pods through an index, the data
 * plane's few (whose ports follow its state) as they are now. The fleet's pod names never
 * collide with the reference's (checked here), so the order of the two does not matter.
 */
function labPodLookup(dp: LabDataPlane, fleet: RunningFleet | null): PodLookup {
  const dpPod: PodLookup = (ns, name) => dp.pods().find((p) => p.namespace === ns && p.name === name);
  if (!fleet) return dpPod;
  const fleetPod = podLookup(fleet.pods);
  for (const p of dp.pods()) {
    if (fleetPod(p.namespace, p.name)) throw new Error(`the scale fleet has a pod named like the reference's ${p.namespace}/${p.name}`);
  }
  return (ns, name) => fleetPod(ns, name) ?? dpPod(ns, name);
}

/**
 * Start the lab: real Envoy and the real app behind a real Kubernetes control plane (etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler, kwok); see src/lab/kube-lab.ts.
 * With `proxies` (the audit's scale fleet) or a data plane double: startFleetLab.
 */
export async function startLab(opts: LabOptions = {}): Promise<StartedLab> {
  if (opts.proxies && opts.proxies > 0) throw new Error('startLab: the scale fleet runs on startFleetLab');
  return startKubeLab(opts);
}

/**
 * The scale fleet's lab: the data plane (real TLS on loopback) and the Kubernetes API double, seeded as
 * a kind cluster with Istio installed and the reference topology deployed. Objects applied later
 * are translated into MeshState (control-plane.ts) and pushed to the data plane, as istiod would.
 */
export async function startFleetLab(opts: LabOptions = {}, deps: LabDependencies = {}): Promise<FleetLab> {
  const fault = opts.fault ?? null;
  const log = opts.log;
  const fixed = nonObjectState(fault);
  const credential = await createGatewayCredential();
  const seed = await labTopologyObjects(fault, credential);
  // The mesh config too, so that the proxies start with what istiod would push them first.
  const meshConfig = opts.meshConfig ? { meshConfig: opts.meshConfig } : {};
  const state = meshStateFromObjects([...seed, meshConfigMap({ includeSslStats: fixed.includeSslStats, ...meshConfig })] as IstioObject[], fault, fixed);
  if (state.meshConfigRejected) log?.(`lab: istiod: ${state.meshConfigRejected}`);
  const startDataPlane: StartDataPlane = deps.startDataPlane ?? startRealDataPlane;

  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try { await c(); } catch (err) { log?.(`lab: stop: ${(err as Error).message}`); }
    }
  };
  try {
    const dp = await startDataPlane({ state, fault, log, gatewayCredential: credential, ...(opts.envoy ? { envoyPath: opts.envoy } : {}) });
    cleanups.push(() => dp.stop());
    let fleet: RunningFleet | null = null;
    if (opts.proxies && opts.proxies > 0) {
      const { startFleet } = await import('./scale/index.js');
      fleet = await startFleet({ count: opts.proxies, log });
      cleanups.push(() => fleet!.stop());
    }
    const api = await startKubeApi({ pods: () => (fleet ? [...dp.pods(), ...fleet.pods()] : dp.pods()), pod: labPodLookup(dp, fleet), log });
    cleanups.push(() => api.close());

    const namespaces = seed.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    const reference = [...istioInstallObjects(dp.meshRootPem, [...namespaces, 'default'], { includeSslStats: state.includeSslStats, nlb: dp.nlb, ...meshConfig }), ...seed];
    api.applyAll(fleet ? mergeFleetObjects(reference, fleet.objects() as unknown as KubeObject[], dp.meshRootPem) : reference, 'mesh-verify',
      (o, err) => log?.(`lab: object ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} skipped: ${err.message}`));

    if (opts.objects?.length) {
      api.applyAll(opts.objects as unknown as KubeObject[], 'kubectl',
        (o, err) => { throw new UsageError(`the lab cannot apply ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}: ${err.message}`, 'apply objects of the kinds the lab serves (kubectl api-resources against the lab lists them)'); });
    }

    // The lab's istiod: recompute the mesh state when a policy-relevant object changes.
    let current = state;
    let queue: Promise<void> = Promise.resolve();
    const recompute = () => {
      const mesh = api.store.get('ConfigMap', GATEWAY_NAMESPACE, MESH_CONFIGMAP);
      const objects = [...[...CONTROL_KINDS].flatMap((k) => api.store.list(k)), ...(mesh ? [mesh] : [])] as IstioObject[];
      const next = meshStateFromObjects(objects, fault, fixed, current);
      if (sameMeshState(next, current)) return;
      if (next.meshConfigRejected && next.meshConfigRejected !== current.meshConfigRejected) log?.(`lab: istiod: ${next.meshConfigRejected}`);
      for (const line of next.envoyFiltersIgnored) if (!current.envoyFiltersIgnored.includes(line)) log?.(`lab: ${line}`);
      current = next;
      log?.(`lab: istiod pushes a new mesh state: ${JSON.stringify(next)}`);
      queue = queue.then(async () => { await dp.reconfigure(next); }).catch((err) => { log?.(`lab: reconfigure failed: ${(err as Error).message}`); });
    };
    // The lab's SDS: the gateway serves whatever the Secret behind credentialName holds now.
    const pushCredential = () => {
      const secret = api.store.get('Secret', GATEWAY_NAMESPACE, GATEWAY_CREDENTIAL) as { data?: Record<string, string> } | undefined;
      const ca = api.store.get('ConfigMap', MESH_NAMESPACE, GATEWAY_CA_CONFIGMAP) as { data?: Record<string, string> } | undefined;
      const decode = (v: string | undefined) => (v ? Buffer.from(v, 'base64').toString('utf8') : '');
      const chainPem = decode(secret?.data?.['tls.crt']);
      const keyPem = decode(secret?.data?.['tls.key']);
      if (chainPem && keyPem) {
        const credential = { chainPem, keyPem, caPem: ca?.data?.['ca.crt'] ?? null };
        queue = queue.then(() => dp.setGatewayCredential(credential)).catch((err) => { log?.(`lab: gateway credential push failed: ${(err as Error).message}`); });
      }
    };
    const isCredentialObject = (o: KubeObject) =>
      (o.kind === 'Secret' && o.metadata.namespace === GATEWAY_NAMESPACE && o.metadata.name === GATEWAY_CREDENTIAL) ||
      (o.kind === 'ConfigMap' && o.metadata.namespace === MESH_NAMESPACE && o.metadata.name === GATEWAY_CA_CONFIGMAP);
    const unsubscribe = api.store.onChange((ev) => {
      if (CONTROL_KINDS.has(ev.object.kind) || isMeshConfig(ev.object as KubeObject)) recompute();
      if (isCredentialObject(ev.object as KubeObject)) pushCredential();
    });
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

    // What istiod pushed for the objects applied at start (the mesh config, --apply) is in place.
    await queue;
    let stopped: Promise<void> | null = null;
    return labHandle(dp, fault, () => current, {
      apiServerUrl: api.url,
      kubeconfigPath,
      api,
      pods: () => (fleet ? [...dp.pods(), ...fleet.pods()] : dp.pods()),
      settled: () => queue,
      ...(fleet ? { fleet: { planted: fleet.planted } } : {}),
      stop: () => (stopped ??= (async () => { await queue; await stopAll(); })()),
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}
