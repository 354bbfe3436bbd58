import type { LabPod } from '../types.js';
import type { KubeObject, ObjectStore } from './object-store.js';
import { appImage, podFromLabPod, runningPod, shortHash } from './pod-object.js';
import type { ResourceType } from './resources.js';
import { matchesLabelSelectorObject } from './selectors.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let clusterIpCounter = 10;

/** Kinds whose changes the controllers follow. */
const WATCHED_KINDS = new Set(['Deployment', 'Service', 'Pod', 'Endpoints']);

/** Everything of a LabPod that its Pod object is made from (podFromLabPod). */
function labPodFingerprint(lp: LabPod): string {
  return `${lp.app}|${lp.serviceAccount}|${lp.ip}|${lp.containers.join(',')}${lp.nativeSidecar ? '|native' : ''}|${Object.keys(lp.ports).join(',')}|${JSON.stringify(lp.labels)}`;
}

interface PrintMemo { namespace: string; name: string; app: string; serviceAccount: string; ip: string; labels: unknown; containers: unknown; ports: unknown; key: string; print: string }

/**
 * Fingerprints by LabPod object: the fleet hands out the same objects on every call, and the API
 * asks for them on every request. A memo holds while the pod's fields are the same values (or,
 * for labels, containers and ports, the same objects: replace them rather than edit them in place).
 */
const printMemo = new WeakMap<LabPod, PrintMemo>();

function keyAndPrint(lp: LabPod): PrintMemo {
  const m = printMemo.get(lp);
  if (m && m.namespace === lp.namespace && m.name === lp.name && m.app === lp.app && m.serviceAccount === lp.serviceAccount && m.ip === lp.ip
    && m.labels === lp.labels && m.containers === lp.containers && m.ports === lp.ports) return m;
  const fresh: PrintMemo = {
    namespace: lp.namespace, name: lp.name, app: lp.app, serviceAccount: lp.serviceAccount, ip: lp.ip,
    labels: lp.labels, containers: lp.containers, ports: lp.ports, key: `${lp.namespace}/${lp.name}`, print: labPodFingerprint(lp),
  };
  printMemo.set(lp, fresh);
  return fresh;
}

/** API-server defaulting on write (what a real server fills in). */
export function applyDefaults(resource: ResourceType, obj: KubeObject): KubeObject {
  const o = obj as Obj;
  if (resource.kind === 'Deployment') {
    o.spec ??= {};
    o.spec.replicas ??= 1;
    o.spec.revisionHistoryLimit ??= 10;
    o.spec.progressDeadlineSeconds ??= 600;
    o.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
  }
  if (resource.kind === 'Service') {
    o.spec ??= {};
    o.spec.type ??= 'ClusterIP';
    if (!o.spec.clusterIP) {
      clusterIpCounter += 1;
      o.spec.clusterIP = `10.96.${Math.floor(clusterIpCounter / 250)}.${clusterIpCounter % 250}`;
    }
    o.spec.clusterIPs ??= [o.spec.clusterIP];
    o.spec.ports = (o.spec.ports ?? []).map((p: Obj) => ({ protocol: 'TCP', targetPort: p.port, ...p }));
    o.spec.sessionAffinity ??= 'None';
  }
  if (resource.kind === 'Namespace') {
    o.metadata.labels = { 'kubernetes.io/metadata.name': o.metadata.name, ...(o.metadata.labels ?? {}) };
    o.spec ??= { finalizers: ['kubernetes'] };
    o.status ??= { phase: 'Active' };
  }
  if (resource.kind === 'Secret') o.type ??= 'Opaque';
  return obj;
}

/**
 * The lab's "controllers": pods mirror the data plane's LabPods; Deployments report a finished
 * rollout (and get simulated pods when no lab proxy backs them); Endpoints follow Services.
 */
export class LabControllers {
  private readonly managedPods = new Set<string>();
  /** Per managed pod: the fingerprint of the LabPod last written to the store. */
  private readonly podPrints = new Map<string, string>();
  private readonly firstSeen = new Map<string, string>();
  private readonly unsubscribe: () => void;
  private busy = false;
  /** Deployments, Services, Endpoints or Pods changed (other than by a reconcile) since the last full pass. */
  private dirty = true;
  private deferred = 0;

  constructor(private readonly store: ObjectStore, private readonly labPods: () => LabPod[]) {
    this.unsubscribe = store.onChange((ev) => {
      if (this.busy) return;
      const kind = ev.object.kind;
      if (!WATCHED_KINDS.has(kind)) return;
      this.dirty = true;
      // A client wrote or deleted a pod the lab manages: write it again on the next pass.
      if (kind === 'Pod') this.podPrints.delete(`${ev.object.metadata.namespace}/${ev.object.metadata.name}`);
      if (kind !== 'Endpoints') this.reconcile();
    });
  }

  stop(): void {
    this.unsubscribe();
  }

  /** Run `fn` (e.g. many writes) with reconciles deferred, then reconcile once. */
  batch<T>(fn: () => T): T {
    this.deferred += 1;
    try {
      return fn();
    } finally {
      this.deferred -= 1;
      this.reconcile();
    }
  }

  /**
   * Bring pods, deployment status and endpoints in line with the data plane and the objects.
   * Incremental: a lab pod is written only when it changed, and deployments and endpoints are
   * recomputed only when a pod, Deployment, Service or Endpoints object changed since the last pass.
   */
  reconcile(): void {
    if (this.busy || this.deferred > 0) return;
    this.busy = true;
    try {
      const podsChanged = this.syncLabPods();
      if (podsChanged || this.dirty) {
        this.dirty = false;
        this.syncDeployments();
        this.syncEndpoints();
      }
    } finally {
      this.busy = false;
    }
  }

  private createdAt(key: string): string {
    let t = this.firstSeen.get(key);
    if (!t) { t = new Date().toISOString().replace(/\.\d+Z$/, 'Z'); this.firstSeen.set(key, t); }
    return t;
  }

  /** Write the lab pods that changed, delete those gone; true when anything was written. */
  private syncLabPods(): boolean {
    let changed = false;
    const labPods = this.labPods();
    for (const lp of labPods) {
      const { key: k, print } = keyAndPrint(lp);
      if (this.podPrints.get(k) === print) continue;
      this.managedPods.add(k);
      this.store.put(podFromLabPod(lp, this.createdAt(k)), 'Pod');
      this.podPrints.set(k, print);
      changed = true;
    }
    // Every lab pod is managed (above); the same count means none went away.
    if (labPods.length === this.managedPods.size) return changed;
    const seen = new Set(labPods.map((lp) => keyAndPrint(lp).key));
    for (const k of [...this.managedPods]) {
      if (seen.has(k)) continue;
      const [ns, name] = k.split('/');
      this.store.delete('Pod', ns, name);
      this.managedPods.delete(k);
      this.podPrints.delete(k);
      changed = true;
    }
    return changed;
  }

  private syncDeployments(): void {
    const pods = this.store.list('Pod');
    const labBacked = (d: Obj) => pods.some((p) => this.managedPods.has(`${p.metadata.namespace}/${p.metadata.name}`)
      && p.metadata.namespace === d.metadata.namespace && matchesLabelSelectorObject(d.spec?.selector, p.metadata.labels));
    const wanted = new Set<string>();
    for (const d of this.store.list('Deployment') as Obj[]) {
      const replicas: number = d.spec?.replicas ?? 1;
      if (!labBacked(d)) {
        const hash = shortHash(JSON.stringify(d.spec?.template ?? {}));
        for (let i = 0; i < replicas; i++) {
          const name = `${d.metadata.name}-${hash}-${shortHash(`${d.metadata.uid}/${i}`, 5)}`;
          const key = `${d.metadata.namespace}/${name}`;
          wanted.add(key);
          if (this.store.get('Pod', d.metadata.namespace, name)) continue;
          const tpl = d.spec?.template ?? {};
          this.store.put(runningPod({
            namespace: d.metadata.namespace, name, labels: { ...(tpl.metadata?.labels ?? {}), 'pod-template-hash': hash },
            annotations: tpl.metadata?.annotations, serviceAccount: tpl.spec?.serviceAccountName ?? 'default', ip: null,
            containers: (tpl.spec?.containers ?? []).map((c: Obj) => ({ name: c.name, image: c.image ?? appImage(), ...(c.ports ? { ports: c.ports } : {}) })),
            owner: { kind: 'ReplicaSet', name: `${d.metadata.name}-${hash}` }, createdAt: this.createdAt(key),
          }), 'Pod');
        }
      }
      const status = {
        observedGeneration: d.metadata.generation ?? 1, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas,
        conditions: [
          { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: d.metadata.creationTimestamp, lastTransitionTime: d.metadata.creationTimestamp },
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${d.metadata.name}" has successfully progressed.`, lastUpdateTime: d.metadata.creationTimestamp, lastTransitionTime: d.metadata.creationTimestamp },
        ],
      };
      if (replicas === 0) Object.assign(status, { readyReplicas: undefined, availableReplicas: undefined, updatedReplicas: undefined });
      if (JSON.stringify(d.status) !== JSON.stringify(JSON.parse(JSON.stringify(status)))) this.store.put({ ...d, status: JSON.parse(JSON.stringify(status)) } as unknown as KubeObject, 'Deployment');
    }
    // Simulated pods whose Deployment went away or scaled down.
    for (const p of pods) {
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      const owner = (p.metadata.ownerReferences as Obj[] | undefined)?.[0];
      if (this.managedPods.has(key) || !owner || owner.kind !== 'ReplicaSet') continue;
      if (!wanted.has(key)) this.store.delete('Pod', p.metadata.namespace, p.metadata.name);
    }
  }

  private syncEndpoints(): void {
    const pods = this.store.list('Pod') as Obj[];
    for (const s of this.store.list('Service') as Obj[]) {
      if (!s.spec?.selector) continue;
      const ready = pods.filter((p) => p.metadata.namespace === s.metadata.namespace && p.status?.podIP
        && Object.entries(s.spec.selector as Record<string, string>).every(([k, v]) => p.metadata.labels?.[k] === v));
      const subsets = ready.length === 0 ? undefined : [{
        addresses: ready.map((p) => ({ ip: p.status.podIP, nodeName: p.spec?.nodeName, targetRef: { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid } })),
        ports: (s.spec.ports ?? []).map((pt: Obj) => ({ ...(pt.name ? { name: pt.name } : {}), port: typeof pt.targetPort === 'number' ? pt.targetPort : pt.port, protocol: pt.protocol ?? 'TCP' })),
      }];
      const ep = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: s.metadata.name, namespace: s.metadata.namespace, labels: s.metadata.labels }, ...(subsets ? { subsets } : {}) };
      const prev = this.store.get('Endpoints', s.metadata.namespace, s.metadata.name) as Obj | undefined;
      if (!prev || JSON.stringify(prev.subsets) !== JSON.stringify(subsets)) this.store.put(ep as KubeObject, 'Endpoints');
    }
  }
}
