import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { EnvironmentError, UsageError } from '../core/errors.js';
import { applyObjects, applyOrder, type AppliedRef } from '../cluster/apply.js';
import { connectKube } from '../cluster/kube-client.js';
import { LAB_MARKER } from '../cluster/lab-marker.js';
import { rolloutProblem, waitForRollouts } from '../cluster/wait.js';
import { GATEWAY_CA_CONFIGMAP, createGatewayCredential } from '../topology/credentials.js';
import { GATEWAY_CREDENTIAL, GATEWAY_NAMESPACE, GATEWAY_WORKLOAD, MESH_NAMESPACE } from '../topology/reference.js';
import { MESH_CONFIGMAP, meshStateFromObjects, nonObjectState, sameMeshState, type IstioObject } from './control-plane.js';
import { LAB_PROGRAMS, startDataPlane, type AppLaunch, type PodNames } from './envoy-plane.js';
import { ContainerStartError, containerLaunch, tokenRequests } from './pod-runtime.js';
import { startInjector } from './injector.js';
import { findEnvoy } from './envoy/binary.js';
import { findIstioCrds, findKubeBinaries, labNativeSidecars } from './kube-binaries.js';
import { startKubeControlPlane, type AuditEvent, type KubeControlPlane } from './kube-control-plane.js';
import { istioInstallObjects, meshConfigMap } from './istio-install.js';
import { CONTROL_KINDS, labHandle, labTopologyObjects } from './lab-objects.js';
import { createLabPki } from './lab-pki.js';
import type { LabOptions, LabPod, MeshState, RunningLab } from './types.js';
import type { KubeObject } from './types.js';
import type { RunningFleet } from './scale/index.js';
import { mergeFleetObjects } from './scale/fleet-objects.js';
import { fleetPodManifest, fleetServiceAccounts } from './scale/fleet-pods.js';
import { planFleet } from './scale/plan.js';

/**
 * The lab on a REAL Kubernetes control plane (src/lab/kube-control-plane.ts: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, kwok as the node). What the lab itself still does, and
 * where (each part small and replaceable):
 * - Istio's install: Istio's real CRDs (setup's istio-crds), istiod's and the gateway's objects as
 *   `istioctl install` leaves them (field manager istioctl), and the sidecar injector's webhook
 *   (src/lab/injector.ts, a stand-in for istiod's: issue 11).
 * - The topology: applied by src/cluster/apply.ts, the code `path` applies it with on kind, and
 *   rolled out by the real controllers and scheduler; kwok marks the pods Running.
 * - The container runtime: once the pods exist, their containers run as processes under the pods'
 *   names (src/lab/envoy-plane.ts: real Envoy, the real app), kwok's PortForward objects point
 *   each pod's ports at them, and their output is written as CRI log files that kwok's Logs
 *   objects serve (`kubectl logs`).
 * - istiod's configuration push: the lab reads the Istio objects from the API and reconfigures the
 *   Envoys (src/lab/control-plane.ts -> istio-shape/), and serves the Secret behind the gateway's
 *   credentialName over SDS.
 * - With `proxies`: the audit's scale fleet (src/lab/scale/): its objects merged with the
 *   install (mergeFleetObjects), its pods created as Pod objects bound to kwok's node before the
 *   injector's webhook exists (pods injected by earlier control planes: their istio-proxy, native
 *   or not, and their revision stay as the plan says), one PortForward per proxy pointing port
 *   15000 at its admin server on 127.0.0.1, and kwok's pod IPs in each proxy's answers.
 * The pods' IPs are kwok's (10.244.N.0/24, larger for a fleet); the processes listen on loopback addresses of their own.
 */

type Json = Record<string, any>;

/** Read and write objects on the lab's API as cluster-admin (tests, and the lab itself). */
export interface LabKube {
  get(kind: string, namespace: string | null, name: string): Promise<Json | undefined>;
  list(kind: string, namespace?: string): Promise<Json[]>;
  /** Server-side apply (force) with field manager `manager` (default: someone). */
  apply(object: Json, manager?: string): Promise<Json>;
  delete(kind: string, namespace: string | null, name: string): Promise<void>;
}

export type KubeLab = RunningLab & {
  kube: LabKube;
  controlPlane: Pick<KubeControlPlane, 'server' | 'podCidr' | 'nodeName' | 'auditEvents' | 'log'>;
  /** Resolves when every object applied before the call has reached the data plane. */
  settled(): Promise<void>;
  /** With `proxies`: the scale fleet's ground truth (what an audit must find, and nothing else). */
  fleet?: Pick<RunningFleet, 'planted'>;
};

/** Run `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const FLEET_MANAGER = 'mesh-verify-fleet';
const keyOf = (o: { kind?: string; metadata?: { namespace?: string; name?: string } }) => `${o.kind}|${o.metadata?.namespace ?? ''}|${o.metadata?.name}`;

const API_VERSIONS: Record<string, string> = {
  Pod: 'v1', Service: 'v1', Secret: 'v1', ConfigMap: 'v1', Namespace: 'v1', ServiceAccount: 'v1', Node: 'v1', Endpoints: 'v1',
  Deployment: 'apps/v1', ReplicaSet: 'apps/v1', EndpointSlice: 'discovery.k8s.io/v1',
  Gateway: 'networking.istio.io/v1', DestinationRule: 'networking.istio.io/v1', VirtualService: 'networking.istio.io/v1', EnvoyFilter: 'networking.istio.io/v1alpha3',
  PeerAuthentication: 'security.istio.io/v1', MutatingWebhookConfiguration: 'admissionregistration.k8s.io/v1',
  PortForward: 'kwok.x-k8s.io/v1alpha1', Logs: 'kwok.x-k8s.io/v1alpha1', CustomResourceDefinition: 'apiextensions.k8s.io/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1', ClusterRoleBinding: 'rbac.authorization.k8s.io/v1', Role: 'rbac.authorization.k8s.io/v1', RoleBinding: 'rbac.authorization.k8s.io/v1',
};
const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'MutatingWebhookConfiguration', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);

function resourcePath(apiVersion: string, kind: string, namespace: string | null | undefined, name?: string): string {
  const plural = kind.endsWith('s') ? kind.toLowerCase() : kind === 'Endpoints' ? 'endpoints' : `${kind.toLowerCase()}s`;
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = !CLUSTER_SCOPED.has(kind) && namespace ? `/namespaces/${namespace}` : '';
  return `${prefix}${ns}/${plural}${name ? `/${name}` : ''}`;
}

function labKube(cp: KubeControlPlane): LabKube {
  const versionOf = (kind: string) => {
    const v = API_VERSIONS[kind];
    if (!v) throw new Error(`the lab's API helper does not know kind ${kind}`);
    return v;
  };
  const fail = (what: string, r: { status: number; body: any }) => new Error(`${what}: HTTP ${r.status} ${typeof r.body === 'string' ? r.body : r.body?.message ?? JSON.stringify(r.body)}`.slice(0, 600));
  return {
    async get(kind, namespace, name) {
      const r = await cp.api('GET', resourcePath(versionOf(kind), kind, namespace, name));
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw fail(`get ${kind} ${namespace ?? ''}/${name}`, r);
      return r.body as Json;
    },
    async list(kind, namespace) {
      const r = await cp.api('GET', resourcePath(versionOf(kind), kind, namespace));
      if (r.status !== 200) throw fail(`list ${kind}`, r);
      // A list's items carry no kind or apiVersion: put them back, as kubectl does.
      return ((r.body?.items ?? []) as Json[]).map((o) => ({ apiVersion: versionOf(kind), kind, ...o }));
    },
    async apply(object, manager = 'someone') {
      const apiVersion = object.apiVersion ?? versionOf(object.kind);
      const path = resourcePath(apiVersion, object.kind, object.metadata?.namespace, object.metadata?.name);
      const r = await cp.api('PATCH', `${path}?fieldManager=${encodeURIComponent(manager)}&force=true`, { apiVersion, ...object }, 'application/apply-patch+yaml');
      if (r.status !== 200 && r.status !== 201) throw fail(`apply ${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`, r);
      return r.body as Json;
    },
    async delete(kind, namespace, name) {
      const r = await cp.api('DELETE', resourcePath(versionOf(kind), kind, namespace, name));
      if (r.status !== 200 && r.status !== 202 && r.status !== 404) throw fail(`delete ${kind} ${namespace ?? ''}/${name}`, r);
    },
  };
}

/** Which lab process plays a pod, from the pod's labels (the topology's and Istio's). */
function roleOf(pod: Json): keyof PodNames | null {
  const app = pod.metadata?.labels?.app;
  if (app === GATEWAY_WORKLOAD.name || pod.metadata?.labels?.istio === 'ingressgateway') return 'gateway';
  if (app === 'bff' || app === 'svc') return app;
  if (app === 'plaintext-caller') return 'caller';
  return null;
}

const isLive = (pod: Json) => !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running';

/** The containers a pod runs beside each other: its containers and its native sidecars. */
const runningContainers = (pod: Json): string[] =>
  [...(pod.spec?.initContainers ?? []).filter((c: Json) => c.restartPolicy === 'Always'), ...(pod.spec?.containers ?? [])].map((c: Json) => c.name as string);

/** Of the data plane's pods (`dp.pods()`, read once per tick: it reads the access logs), the one a role names. */
function labPodFor(pods: readonly LabPod[], role: keyof PodNames): LabPod | undefined {
  const byApp: Record<keyof PodNames, (p: LabPod) => boolean> = {
    gateway: (p) => p.namespace === GATEWAY_NAMESPACE, bff: (p) => p.app === 'bff', svc: (p) => p.app === 'svc',
    caller: (p) => p.namespace === MESH_NAMESPACE && p.app !== 'bff' && p.app !== 'svc',
  };
  return pods.find(byApp[role]);
}

/** Container of the real pod -> the lab process's container name whose output it shows. */
function processContainer(lp: LabPod, container: string): string | null {
  if (lp.containers.includes(container)) return container;
  const others = lp.containers.filter((c) => c !== 'istio-proxy');
  return container !== 'istio-proxy' && others.length === 1 ? others[0]! : null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));


export async function startKubeLab(opts: LabOptions = {}): Promise<KubeLab> {
  const fault = opts.fault ?? null;
  const log = opts.log;
  const fixed = nonObjectState(fault);
  const credential = await createGatewayCredential();
  const seed = await labTopologyObjects(fault, credential);
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try { await c(); } catch (err) { log?.(`lab: stop: ${(err as Error).message}`); }
    }
  };
  try {
    // Everything the lab runs is found before anything starts: each missing part is one line (exit 4).
    const envoyPath = findEnvoy(opts.envoy).path;
    const crdsFile = findIstioCrds();
    findKubeBinaries();
    // The fleet's pods need IPs of the node's pod range too (plus the reference's and istiod's, with room).
    const fleetPlan = opts.proxies && opts.proxies > 0 ? planFleet(opts.proxies, opts.fleetSeed ?? 1) : null;
    const podRoom = fleetPlan ? fleetPlan.proxies.length + fleetPlan.barePods.length + 200 : undefined;
    const fleetStart = fleetPlan ? import('./scale/index.js').then(({ startFleet }) => startFleet({ count: opts.proxies!, seed: opts.fleetSeed ?? 1, log })) : Promise.resolve(null);
    const started = await Promise.allSettled([startKubeControlPlane({ log, ...(podRoom ? { pods: podRoom } : {}) }), createLabPki(credential), fleetStart] as const);
    if (started[2].status === 'fulfilled' && started[2].value) { const f = started[2].value; cleanups.push(() => f.stop()); }
    if (started[0].status === 'fulfilled') { const c = started[0].value; cleanups.push(() => c.stop()); }
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [cp, pki, fleet] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [KubeControlPlane, Awaited<ReturnType<typeof createLabPki>>, RunningFleet | null];
    const kube = labKube(cp);

    // Istio's install, as istioctl leaves it: CRDs, istiod's objects, the injector's webhook.
    const served: string[] = [];
    const crds = parseAllDocuments(readFileSync(crdsFile, 'utf8')).map((d) => d.toJS() as Json | null).filter((c): c is Json => c?.kind === 'CustomResourceDefinition');
    await Promise.all(crds.map((crd) => kube.apply(crd, 'istioctl')));
    for (const crd of crds) {
      for (const v of (crd.spec?.versions ?? []) as { name: string; served?: boolean }[]) {
        if (v.served !== false) served.push(`/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}`);
      }
    }
    // A new CRD's storage answers 429 ("storage is (re)initializing") for a while: wait for every list.
    for (let i = 0, pending = served; pending.length > 0; i += 1) {
      const answers = await Promise.all(pending.map(async (p) => ((await cp.api('GET', `${p}?limit=1`)).status === 200 ? null : p)));
      pending = answers.filter((p): p is string => p !== null);
      if (pending.length === 0) break;
      if (i > 240) throw new EnvironmentError(`the lab's kube-apiserver did not serve Istio's CRDs within 60 s (still not: ${pending.slice(0, 3).join(', ')})`);
      await sleep(250);
    }

    // The mesh config too (--mesh-config laid over the install), so that the proxies start with what istiod would push first.
    const meshConfig = opts.meshConfig ? { meshConfig: opts.meshConfig } : {};
    const state0 = meshStateFromObjects([...seed, meshConfigMap({ includeSslStats: fixed.includeSslStats, ...meshConfig })] as IstioObject[], fault, fixed);
    if (state0.meshConfigRejected) log?.(`lab: istiod: ${state0.meshConfigRejected}`);
    const namespaces = seed.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    const reference = istioInstallObjects(pki.meshRoot.certPem, [...namespaces, 'default'], { includeSslStats: state0.includeSslStats, ...meshConfig });

    // The scale fleet: its objects merged with the install (one istiod per revision, one root
    // bundle); the install's objects it replaces are applied in its version, the rest after the topology.
    const fleetObjects = fleet ? mergeFleetObjects([...reference, ...seed] as KubeObject[], fleet.objects() as unknown as KubeObject[], pki.meshRoot.certPem) as Json[] : [];
    const mergedByKey = new Map(fleetObjects.map((o) => [keyOf(o), o]));
    const install = reference.map((o) => (mergedByKey.get(keyOf(o)) ?? o) as typeof o);
    const installKeys = new Set(install.map(keyOf));
    const fleetRest = fleetObjects.filter((o) => !installKeys.has(keyOf(o)));
    const fleetPods = fleet ? fleet.pods() : [];
    const fleetPodKeys = new Set(fleetPods.map((p) => `${p.namespace}/${p.name}`));
    if (fleet) {
      // The fleet's pods, before the injector's webhook exists: pods that earlier control planes
      // injected (the plan's Istio releases, native sidecars or not), which a webhook never sees
      // again (it acts on CREATE). Bound to the node: kwok runs them and gives them their IPs.
      const t0 = Date.now();
      for (const o of fleetObjects.filter((x) => x.kind === 'Namespace')) await kube.apply(o, FLEET_MANAGER);
      await inParallel(fleetServiceAccounts(fleetPods), 16, (o) => kube.apply(o, FLEET_MANAGER));
      await inParallel(fleetPods, 16, (p) => kube.apply(fleetPodManifest(p, cp.nodeName), FLEET_MANAGER));
      // kwok's port-forward to each proxy's admin port (an unreachable proxy's: a port nothing listens on).
      await inParallel(fleetPods.filter((p) => p.ports[15000]), 16, (p) => kube.apply({
        apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'PortForward', metadata: { name: p.name, namespace: p.namespace },
        spec: { forwards: [{ ports: [15000], target: { address: '127.0.0.1', port: p.ports[15000] } }] },
      }, 'mesh-verify-lab-runtime'));
      log?.(`lab: fleet: ${fleetPods.length} pods and their PortForwards created in ${Date.now() - t0} ms`);
    }

    const injector = await startInjector(`${cp.base}.1`, { native: labNativeSidecars(), log });
    cleanups.push(() => injector.close());
    await kube.apply(injector.webhookConfiguration, 'istioctl');
    // istiod's own namespace first; the root-cert ConfigMaps of other namespaces after they exist (istiod's namespace controller writes them).
    const inIstio = install.filter((o) => o.kind === 'Namespace' || o.metadata.namespace === GATEWAY_NAMESPACE);
    const later = install.filter((o) => !inIstio.includes(o));
    const installRefs: AppliedRef[] = [];
    for (const o of applyOrder(inIstio as KubernetesObject[])) {
      const r = await kube.apply(o as Json, 'istioctl');
      if (o.kind === 'Deployment') installRefs.push({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: o.metadata!.namespace!, name: o.metadata!.name!, generation: r.metadata?.generation });
    }
    const clients = await connectKube({ kubeconfig: cp.kubeconfig });
    const refs = await applyObjects(clients, seed as KubernetesObject[], { runId: 'lab' });
    for (const o of later) await kube.apply(o as Json, 'istiod');
    // The fleet's other objects (its namespaces' policies, DestinationRules, Services, the canary istiod, root bundles).
    const fleetRefs: AppliedRef[] = [];
    await inParallel(applyOrder(fleetRest as KubernetesObject[]), 8, async (o) => {
      const r = await kube.apply(o as Json, o.kind === 'ConfigMap' || o.kind === 'Deployment' ? 'istioctl' : FLEET_MANAGER);
      if (o.kind === 'Deployment') fleetRefs.push({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: o.metadata!.namespace!, name: o.metadata!.name!, generation: r.metadata?.generation });
    });
    // --apply: the user's objects, as kubectl apply -f (server-side) would; a refused one is the user's to fix.
    for (const o of (opts.objects ?? []) as Json[]) {
      if (typeof o.kind !== 'string' || !API_VERSIONS[o.kind] && !o.apiVersion) throw new UsageError(`the lab cannot apply ${String(o.kind)} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}: unknown kind`, 'apply objects of the kinds the lab serves (kubectl api-resources against the lab lists them)');
      try { await kube.apply(o, 'kubectl'); } catch (err) {
        throw new UsageError(`the lab cannot apply ${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}: ${(err as Error).message}`, 'fix the object (kubectl apply --dry-run=server -f against the lab shows the same answer)');
      }
    }
    await kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...LAB_MARKER }, data: { description: 'the mesh-verify lab: real Kubernetes control plane and real Envoy; the node and container runtime (kwok) and istiod are simulated' } }, 'mesh-verify-lab');
    await waitForRollouts(clients, [...installRefs, ...refs, ...fleetRefs], { timeoutMs: 60_000, pollMs: 200 });

    if (fleet) {
      // kwok's IPs, once it runs every fleet pod: each proxy's answers carry its pod's.
      const t0 = Date.now();
      for (let i = 0; ; i += 1) {
        const ips = new Map<string, string>();
        for (const p of await kube.list('Pod')) {
          const key = `${p.metadata.namespace}/${p.metadata.name}`;
          if (fleetPodKeys.has(key) && isLive(p) && typeof p.status?.podIP === 'string') ips.set(key, p.status.podIP);
        }
        if (ips.size === fleetPodKeys.size) { fleet.setPodIps(ips); break; }
        if (i > 600) throw new EnvironmentError(`kwok ran ${ips.size} of the fleet's ${fleetPodKeys.size} pods within 120 s`);
        await sleep(200);
      }
      log?.(`lab: fleet: ${fleetPodKeys.size} pods running with kwok's IPs (${Date.now() - t0} ms more)`);
    }

    // The runtime: the pods exist, their containers start under the pods' names (the fleet's are its admin servers).
    const livePods = async () => (await Promise.all([kube.list('Pod', GATEWAY_NAMESPACE), kube.list('Pod', MESH_NAMESPACE)])).flat()
      .filter((p) => isLive(p) && !fleetPodKeys.has(`${p.metadata.namespace}/${p.metadata.name}`));
    const podNames: Partial<PodNames> = {};
    for (const p of await livePods()) { const role = roleOf(p); if (role) podNames[role] = p.metadata.name; }
    // The kubelet's part for the app containers: their argv, env and volumes from the pod and the API's ConfigMaps and Secrets.
    const appLaunch: AppLaunch = async (role, podName, dir) => {
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
    const dp = await startDataPlane({ state: state0, fault, log, gatewayCredential: credential, pki, podNames, envoyPath, appLaunch });
    cleanups.push(() => dp.stop());
    // The NLB, published on the gateway Service as a cloud load-balancer controller would.
    await kube.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: GATEWAY_WORKLOAD.name, namespace: GATEWAY_NAMESPACE, annotations: { 'mesh-verify.io/entry': `${dp.nlb.host}:${dp.nlb.port}` } } }, 'mesh-verify-lab-nlb');

    const logDir = join(cp.kubeconfig, '..', 'pod-logs');
    mkdirSync(logDir, { recursive: true });
    const bound = new Map<string, { pod: Json; role: keyof PodNames; written: Map<string, number>; forwards: string }>();
    /** The pod's ports as its processes serve them now (they change when a restart adds or drops the sidecar). */
    const forwardsOf = (lp: LabPod) => Object.entries(lp.ports).map(([port, target]) => ({ ports: [Number(port)], target: { address: lp.host ?? '127.0.0.1', port: target } }));
    const applyForwards = (ns: string, name: string, forwards: unknown[]) =>
      kube.apply({ apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'PortForward', metadata: { name, namespace: ns }, spec: { forwards } }, 'mesh-verify-lab-runtime');
    /** PortForward and Logs objects for a new pod: kwok's kubelet then serves it from the lab's processes. */
    const bind = async (pod: Json, role: keyof PodNames, labPods: readonly LabPod[]) => {
      const lp = labPodFor(labPods, role);
      if (!lp) return;
      const ns = pod.metadata.namespace as string;
      const name = pod.metadata.name as string;
      const forwards = forwardsOf(lp);
      const containers = runningContainers(pod);
      await applyForwards(ns, name, forwards);
      await kube.apply({
        apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Logs', metadata: { name, namespace: ns },
        spec: { logs: containers.map((c) => ({ containers: [c], logsFile: join(logDir, `${ns}_${name}_${c}.log`), follow: true })) },
      }, 'mesh-verify-lab-runtime');
      for (const c of containers) writeFileSync(join(logDir, `${ns}_${name}_${c}.log`), '');
      bound.set(`${ns}/${name}`, { pod, role, written: new Map(), forwards: JSON.stringify(forwards) });
    };
    /** The runtime's log writer: each process's new lines, as CRI log lines (what the kubelet reads). */
    const writeLogs = (labPods: readonly LabPod[]) => {
      for (const [key, b] of bound) {
        const lp = labPodFor(labPods, b.role);
        if (!lp || lp.name !== b.pod.metadata.name) continue;
        const [ns, name] = key.split('/');
        for (const c of runningContainers(b.pod)) {
          const from = processContainer(lp, c);
          if (!from) continue;
          const lines = lp.logs(from);
          const done = b.written.get(c) ?? 0;
          if (lines.length <= done) continue;
          const stamp = new Date().toISOString();
          appendFileSync(join(logDir, `${ns}_${name}_${c}.log`), lines.slice(done).map((l) => `${stamp} stdout F ${l}\n`).join(''));
          b.written.set(c, lines.length);
        }
      }
    };

    /** Re-point a live pod's PortForward when its processes' ports changed (a restart with or without the sidecar). */
    const syncForwards = async (labPods: readonly LabPod[]) => {
      for (const [key, b] of bound) {
        const lp = labPodFor(labPods, b.role);
        if (!lp || lp.name !== b.pod.metadata.name) continue;
        const forwards = forwardsOf(lp);
        if (JSON.stringify(forwards) === b.forwards) continue;
        const [ns, name] = key.split('/');
        await applyForwards(ns!, name!, forwards);
        b.forwards = JSON.stringify(forwards);
      }
    };

    // istiod's push: the mesh state from the Istio objects (a change of injection waits for the new pod).
    let current: MeshState = state0;
    let queue: Promise<void> = Promise.resolve();
    let lastCredential = '';
    const tick = async () => {
      const pods = await livePods();
      // A pod that is gone takes its runtime objects with it.
      const live = new Set(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
      for (const key of [...bound.keys()].filter((k) => !live.has(k))) {
        const [ns, name] = key.split('/');
        bound.delete(key);
        await Promise.all([kube.delete('PortForward', ns!, name!), kube.delete('Logs', ns!, name!)]);
      }
      for (const p of pods) {
        const role = roleOf(p);
        if (!role) continue;
        if (!bound.has(`${p.metadata.namespace}/${p.metadata.name}`)) {
          dp.renamePod(role, p.metadata.name);
          await bind(p, role, dp.pods());
        }
      }
      const [lists, mesh] = await Promise.all([Promise.all([...CONTROL_KINDS].map((k) => kube.list(k))), kube.get('ConfigMap', GATEWAY_NAMESPACE, MESH_CONFIGMAP)]);
      const objects = [...lists.flat(), ...(mesh ? [{ apiVersion: 'v1', kind: 'ConfigMap', ...mesh }] : [])] as IstioObject[];
      const next = meshStateFromObjects(objects, fault, fixed, current);
      // Injection changes only with a new svc pod: its processes start when the rollout is through.
      const svcRolling = (objects.filter((o) => o.kind === 'Deployment') as unknown as V1Deployment[])
        .some((d) => d.metadata?.namespace === MESH_NAMESPACE && d.metadata?.name === 'svc' && rolloutProblem(d) !== null);
      if (!(svcRolling && next.svcSidecar !== current.svcSidecar)) {
        if (!sameMeshState(next, current)) {
          if (next.meshConfigRejected && next.meshConfigRejected !== current.meshConfigRejected) log?.(`lab: istiod: ${next.meshConfigRejected}`);
          for (const line of next.envoyFiltersIgnored) if (!current.envoyFiltersIgnored.includes(line)) log?.(`lab: ${line}`);
          current = next;
          log?.(`lab: istiod pushes a new mesh state: ${JSON.stringify(next)}`);
          queue = queue.then(() => dp.reconfigure(next)).catch((err) => { log?.(`lab: reconfigure failed: ${(err as Error).message}`); });
        }
      }
      const [secret, ca] = await Promise.all([kube.get('Secret', GATEWAY_NAMESPACE, GATEWAY_CREDENTIAL), kube.get('ConfigMap', MESH_NAMESPACE, GATEWAY_CA_CONFIGMAP)]);
      const decode = (v: string | undefined) => (v ? Buffer.from(v, 'base64').toString('utf8') : '');
      const chainPem = decode(secret?.data?.['tls.crt']);
      const keyPem = decode(secret?.data?.['tls.key']);
      const seen = `${secret?.metadata?.resourceVersion}/${ca?.metadata?.resourceVersion}`;
      if (chainPem && keyPem && seen !== lastCredential) {
        const first = lastCredential === '';
        lastCredential = seen;
        if (!first) {
          const next = { chainPem, keyPem, caPem: ca?.data?.['ca.crt'] ?? null };
          queue = queue.then(() => dp.setGatewayCredential(next)).catch((err) => { log?.(`lab: gateway credential push failed: ${(err as Error).message}`); });
        }
      }
      const labPods = dp.pods();
      await syncForwards(labPods);
      writeLogs(labPods);
    };
    let stopping = false;
    let ticks = 0;
    const waiters: { after: number; resolve: () => void }[] = [];
    await tick();
    const loop = (async () => {
      while (!stopping) {
        await sleep(200);
        if (stopping) break;
        try { await tick(); } catch (err) { if (!stopping) log?.(`lab: ${(err as Error).message}`); }
        ticks += 1;
        for (const w of waiters.splice(0)) (w.after < ticks ? w.resolve() : waiters.push(w));
      }
      for (const w of waiters.splice(0)) w.resolve();
    })();
    cleanups.push(async () => { stopping = true; await loop; await queue; });
    const settled = async () => {
      // Two full ticks after the call: the objects are read, and a rollout they started is seen through.
      for (let i = 0; i < 150; i += 1) {
        const mark = ticks + 1;
        await new Promise<void>((resolve) => waiters.push({ after: mark, resolve }));
        if (stopping) return;
        const deployments = (await kube.list('Deployment')) as V1Deployment[];
        if (!deployments.some((d) => [GATEWAY_NAMESPACE, MESH_NAMESPACE].includes(d.metadata?.namespace ?? '') && rolloutProblem(d))) break;
      }
      await queue;
    };

    // What istiod pushed for the objects applied at start (the mesh config, --apply) is in place.
    if (opts.objects?.length) await settled();
    let kubeconfigPath = cp.kubeconfig;
    if (opts.kubeconfigOut) {
      copyFileSync(cp.kubeconfig, opts.kubeconfigOut);
      kubeconfigPath = opts.kubeconfigOut;
    }
    let stopped: Promise<void> | null = null;
    const controlPlane = { server: cp.server, podCidr: cp.podCidr, nodeName: cp.nodeName, auditEvents: (): AuditEvent[] => cp.auditEvents(), log: (n: string) => cp.log(n) };
    return labHandle(dp, fault, () => current, {
      apiServerUrl: cp.server,
      kubeconfigPath,
      kube,
      controlPlane,
      pods: () => (fleet ? [...dp.pods(), ...fleet.pods()] : dp.pods()),
      settled,
      ...(fleet ? { fleet: { planted: fleet.planted } } : {}),
      stop: () => (stopped ??= stopAll()),
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}
