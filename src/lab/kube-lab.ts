import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { UsageError } from '../core/errors.js';
import { applyObjects, applyOrder, type AppliedRef } from '../cluster/apply.js';
import { connectKube } from '../cluster/kube-client.js';
import { LAB_MARKER } from '../cluster/lab-marker.js';
import { rolloutProblem, waitForRollouts } from '../cluster/wait.js';
import { GATEWAY_CA_CONFIGMAP, createGatewayCredential } from '../topology/credentials.js';
import { GATEWAY_CREDENTIAL, GATEWAY_NAMESPACE, GATEWAY_WORKLOAD, MESH_NAMESPACE, SVC_WORKLOAD } from '../topology/reference.js';
import { MESH_CONFIGMAP, meshStateFromObjects, nonObjectState, sameMeshState, type IstioObject } from './control-plane.js';
import { startDataPlane, type PodInfo, type PodNames } from './envoy-plane.js';
import { apiAppLaunch } from './app-launcher.js';
import { API_VERSIONS, installIstioCrds, labKube, type LabKube } from './lab-kube.js';
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
import { KubeFleet, fleetPodRoom } from './scale/fleet-on-kube.js';
import { allSettledOrThrow } from '../util/all-settled.js';
import { sweepOrphanedLabDirs } from './lab-dirs.js';
import { sweepOrphanedPodNetworks } from './pod-network.js';

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
 *   names, each pod's in a network namespace of its own with kwok's pod IP and, where istio-init
 *   was injected, Istio's iptables rules from its args (src/lab/envoy-plane.ts, pod-network.ts:
 *   real Envoy, the real app started from its pod spec by src/lab/app-launcher.ts and
 *   src/lab/pod-runtime.ts); kwok's PortForward objects run a relay into the pod's namespace
 *   (nsenter + socat, as a kubelet did) for each port, and the processes' output is written as
 *   CRI log files that kwok's Logs objects serve (`kubectl logs`).
 * - istiod's configuration push: the lab reads the Istio objects from the API and reconfigures the
 *   Envoys (src/lab/control-plane.ts -> istio-shape/), and serves the Secret behind the gateway's
 *   credentialName over SDS.
 * - With `proxies`: the audit's scale fleet (src/lab/scale/fleet-on-kube.ts): its objects merged with the
 *   install (mergeFleetObjects), its pods created as Pod objects bound to kwok's node before the
 *   injector's webhook exists (pods injected by earlier control planes: their istio-proxy, native
 *   or not, and their revision stay as the plan says), one PortForward per proxy pointing port
 *   15000 at its admin server on 127.0.0.1, and kwok's pod IPs in each proxy's answers.
 * The pods' IPs are kwok's (10.244.N.0/24, larger for a fleet), served by a bridge of the lab's; the
 * NLB is a loopback address of the node; the fleet's admin servers listen on 127.0.0.1.
 */

type Json = Record<string, any>;

export type KubeLab = RunningLab & {
  kube: LabKube;
  controlPlane: Pick<KubeControlPlane, 'server' | 'podCidr' | 'nodeName' | 'auditEvents' | 'log'>;
  /** Resolves when every object applied before the call has reached the data plane. */
  settled(): Promise<void>;
  /** With `proxies`: the scale fleet's ground truth (what an audit must find, and nothing else). */
  fleet?: Pick<RunningFleet, 'planted'>;
};


/** Which lab process plays a pod, from the pod's labels (the topology's and Istio's). */
function roleOf(pod: Json): keyof PodNames | null {
  const app = pod.metadata?.labels?.app;
  if (app === GATEWAY_WORKLOAD.name || pod.metadata?.labels?.istio === 'ingressgateway') return 'gateway';
  if (app === 'bff' || app === 'svc') return app;
  if (app === 'plaintext-caller') return 'caller';
  return null;
}

const isLive = (pod: Json) => !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running';

/** What a pod's sandbox needs of it: its name, kwok's IP, istio-init's args. */
const podInfo = (pod: Json): PodInfo => ({
  name: pod.metadata.name as string,
  ip: (pod.status?.podIP as string | undefined) ?? '',
  istioInit: ((pod.spec?.initContainers ?? []) as Json[]).find((c) => c.name === 'istio-init')?.args ?? null,
});

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
    // What an earlier lab killed outright left in TMPDIR and its pod networks (its processes died with it).
    sweepOrphanedLabDirs();
    sweepOrphanedPodNetworks();
    // Everything the lab runs is found before anything starts: each missing part is one line (exit 4).
    const envoyPath = findEnvoy(opts.envoy).path;
    const crdsFile = findIstioCrds();
    findKubeBinaries();
    // The fleet's pods need IPs of the node's pod range too (plus the reference's and istiod's, with room).
    const fleetSeed = opts.fleetSeed ?? 1;
    const podRoom = opts.proxies && opts.proxies > 0 ? fleetPodRoom(opts.proxies, fleetSeed) : undefined;
    const fleetStart = podRoom ? import('./scale/index.js').then(({ startFleet }) => startFleet({ count: opts.proxies!, seed: fleetSeed, log })) : Promise.resolve(null);
    // Each part that started registers its stop as it comes up, so that a failure of another stops it.
    const [cp, pki, running] = await allSettledOrThrow([
      startKubeControlPlane({ log, ...(podRoom ? { pods: podRoom } : {}) }).then((c) => { cleanups.push(() => c.stop()); return c; }),
      createLabPki(credential),
      fleetStart.then((f) => { if (f) cleanups.push(() => f.stop()); return f; }),
    ]);
    const fleet = running ? new KubeFleet(running, log) : null;
    const kube = labKube(cp);

    // Istio's install, as istioctl leaves it: CRDs, istiod's objects, the injector's webhook.
    await installIstioCrds(kube, cp, crdsFile);

    // The mesh config too (--mesh-config laid over the install), so that the proxies start with what istiod would push first.
    const meshConfig = opts.meshConfig ? { meshConfig: opts.meshConfig } : {};
    const state0 = meshStateFromObjects([...seed, meshConfigMap({ includeSslStats: fixed.includeSslStats, ...meshConfig })] as IstioObject[], fault, fixed);
    if (state0.meshConfigRejected) log?.(`lab: istiod: ${state0.meshConfigRejected}`);
    const namespaces = seed.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    const reference = istioInstallObjects(pki.meshRoot.certPem, [...namespaces, 'default'], { includeSslStats: state0.includeSslStats, ...meshConfig });

    // The scale fleet: the install's objects it shares in its version, its pods before the injector's webhook exists.
    const install = fleet ? fleet.install(reference, seed as KubeObject[], pki.meshRoot.certPem) : reference;
    if (fleet) await fleet.createPods(kube, cp.nodeName);

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
    const fleetRefs = fleet ? await fleet.applyRest(kube) : [];
    // --apply: the user's objects, as kubectl apply -f (server-side) would; a refused one is the user's to fix.
    for (const o of (opts.objects ?? []) as Json[]) {
      if (typeof o.kind !== 'string' || !API_VERSIONS[o.kind] && !o.apiVersion) throw new UsageError(`the lab cannot apply ${String(o.kind)} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}: unknown kind`, 'apply objects of the kinds the lab serves (kubectl api-resources against the lab lists them)');
      try { await kube.apply(o, 'kubectl'); } catch (err) {
        throw new UsageError(`the lab cannot apply ${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}: ${(err as Error).message}`, 'fix the object (kubectl apply --dry-run=server -f against the lab shows the same answer)');
      }
    }
    await kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...LAB_MARKER }, data: { description: 'the mesh-verify lab: real Kubernetes control plane and real Envoy; the node and container runtime (kwok) and istiod are simulated' } }, 'mesh-verify-lab');
    await waitForRollouts(clients, [...installRefs, ...refs, ...fleetRefs], { timeoutMs: 60_000, pollMs: 200 });

    if (fleet) await fleet.awaitPodIps(kube);

    // The runtime: the pods exist, their containers start under the pods' names (the fleet's are its admin servers).
    const livePods = async () => (await Promise.all([kube.list('Pod', GATEWAY_NAMESPACE), kube.list('Pod', MESH_NAMESPACE)])).flat()
      .filter((p) => isLive(p) && !fleet?.owns(p.metadata.namespace, p.metadata.name));
    const pods: Partial<Record<keyof PodNames, PodInfo>> = {};
    for (const p of await livePods()) { const role = roleOf(p); if (role) pods[role] = podInfo(p); }
    const svcClusterIp = (await kube.get('Service', MESH_NAMESPACE, SVC_WORKLOAD.name))?.spec?.clusterIP as string | undefined;
    if (!svcClusterIp) throw new Error(`the lab's Service ${MESH_NAMESPACE}/${SVC_WORKLOAD.name} has no ClusterIP`);
    const dp = await startDataPlane({ state: state0, fault, log, gatewayCredential: credential, pki, pods, svcClusterIp, podCidr: cp.podCidr, envoyPath, appLaunch: apiAppLaunch(kube, cp) });
    cleanups.push(() => dp.stop());
    // The NLB, published on the gateway Service as a cloud load-balancer controller would.
    await kube.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: GATEWAY_WORKLOAD.name, namespace: GATEWAY_NAMESPACE, annotations: { 'mesh-verify.io/entry': `${dp.nlb.host}:${dp.nlb.port}` } } }, 'mesh-verify-lab-nlb');

    const logDir = join(cp.kubeconfig, '..', 'pod-logs');
    mkdirSync(logDir, { recursive: true });
    const bound = new Map<string, { pod: Json; role: keyof PodNames; written: Map<string, number>; forwards: string }>();
    /**
     * The pod's ports as its processes serve them now (they change when a restart adds or drops the
     * sidecar): a sandboxed pod's through a relay into its namespace (none while its sandbox is
     * being re-made), a fleet pod's at its admin server.
     */
    type Forward = { ports: number[]; target?: { address: string; port: number }; command?: string[] };
    const forwardsOf = (lp: LabPod) => Object.entries(lp.ports).flatMap(([port, target]): Forward[] => {
      if (!lp.forward) return [{ ports: [Number(port)], target: { address: lp.host ?? '127.0.0.1', port: target } }];
      const command = lp.forward(Number(port));
      return command.length ? [{ ports: [Number(port)], command }] : [];
    });
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
          await dp.renamePod(role, podInfo(p));
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
      pods: () => (fleet ? [...dp.pods(), ...fleet.fleet.pods()] : dp.pods()),
      settled,
      ...(fleet ? { fleet: { planted: fleet.fleet.planted } } : {}),
      stop: () => (stopped ??= stopAll()),
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}
