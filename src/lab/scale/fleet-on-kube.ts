import type { KubernetesObject } from '@kubernetes/client-node';
import { EnvironmentError } from '../../core/errors.js';
import { applyOrder, type AppliedRef } from '../../cluster/apply.js';
import type { LabKube } from '../lab-kube.js';
import type { KubeObject, LabPod } from '../types.js';
import { mergeFleetObjects } from './fleet-objects.js';
import { fleetPodManifest, fleetServiceAccounts } from './fleet-pods.js';
import type { RunningFleet } from './index.js';
import { planFleet } from './plan.js';
import { mapLimit } from '../../util/map-limit.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FLEET_MANAGER = 'mesh-verify-fleet';
const keyOf = (o: { kind?: string; metadata?: { namespace?: string; name?: string } }) => `${o.kind}|${o.metadata?.namespace ?? ''}|${o.metadata?.name}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How many pods the node must give an IP for a fleet of `count` (its proxies and bare pods, plus room for the reference's). */
export function fleetPodRoom(count: number, seed: number): number {
  const plan = planFleet(count, seed);
  return plan.proxies.length + plan.barePods.length + 200;
}

/**
 * The audit's scale fleet on the lab's real control plane, in the order startKubeLab needs it:
 * 1. `install(reference, seed, root)`: istioctl's objects with the fleet's versions of the ones
 *    they share (one istiod per revision, the mesh policy, one root bundle: mergeFleetObjects);
 * 2. `createPods`: its namespaces, ServiceAccounts and Pods bound to kwok's node, before the
 *    injector's webhook exists (pods earlier control planes injected, which a webhook never sees
 *    again: it acts on CREATE), and one kwok PortForward per proxy to its admin server;
 * 3. `applyRest` after the topology: its policies, DestinationRules, Services, the canary istiod;
 * 4. `awaitPodIps` after the rollouts: kwok's IPs into each proxy's answers.
 */
export class KubeFleet {
  private rest: Json[] = [];
  private namespaces: Json[] = [];
  private readonly podKeys: Set<string>;

  constructor(readonly fleet: RunningFleet, private readonly log?: (line: string) => void) {
    this.podKeys = new Set(fleet.pods().map((p) => `${p.namespace}/${p.name}`));
  }

  /** Is this one of the fleet's pods (their processes are its admin servers, not the lab's)? */
  owns(namespace: string, name: string): boolean {
    return this.podKeys.has(`${namespace}/${name}`);
  }

  install<T extends KubeObject>(reference: T[], seed: KubeObject[], meshRootPem: string): T[] {
    const merged = mergeFleetObjects([...reference, ...seed], this.fleet.objects() as unknown as KubeObject[], meshRootPem) as Json[];
    const byKey = new Map(merged.map((o) => [keyOf(o), o]));
    const install = reference.map((o) => (byKey.get(keyOf(o)) ?? o) as T);
    const installKeys = new Set(install.map(keyOf));
    this.rest = merged.filter((o) => !installKeys.has(keyOf(o)));
    this.namespaces = merged.filter((o) => o.kind === 'Namespace');
    return install;
  }

  async createPods(kube: LabKube, nodeName: string): Promise<void> {
    const t0 = Date.now();
    const pods: LabPod[] = this.fleet.pods();
    for (const o of this.namespaces) await kube.apply(o, FLEET_MANAGER);
    await mapLimit(fleetServiceAccounts(pods), 16, (o) => kube.apply(o, FLEET_MANAGER));
    await mapLimit(pods, 16, (p) => kube.apply(fleetPodManifest(p, nodeName), FLEET_MANAGER));
    // kwok's port-forward to each proxy's admin port (an unreachable proxy's: a port nothing listens on).
    await mapLimit(pods.filter((p) => p.ports[15000]), 16, (p) => kube.apply({
      apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'PortForward', metadata: { name: p.name, namespace: p.namespace },
      spec: { forwards: [{ ports: [15000], target: { address: '127.0.0.1', port: p.ports[15000] } }] },
    }, 'mesh-verify-lab-runtime'));
    this.log?.(`lab: fleet: ${pods.length} pods and their PortForwards created in ${Date.now() - t0} ms`);
  }

  /** The fleet's other objects; its Deployments (istiod per revision) for the rollout wait. */
  async applyRest(kube: LabKube): Promise<AppliedRef[]> {
    const applied = await mapLimit(applyOrder(this.rest as KubernetesObject[]), 8, async (o): Promise<AppliedRef | null> => {
      const r = await kube.apply(o as Json, o.kind === 'ConfigMap' || o.kind === 'Deployment' ? 'istioctl' : FLEET_MANAGER);
      return o.kind === 'Deployment' ? { apiVersion: 'apps/v1', kind: 'Deployment', namespace: o.metadata!.namespace!, name: o.metadata!.name!, generation: r.metadata?.generation } : null;
    });
    return applied.filter((r): r is AppliedRef => r !== null);
  }

  /** kwok's IPs, once it runs every fleet pod: each proxy's answers carry its pod's. */
  async awaitPodIps(kube: LabKube): Promise<void> {
    const t0 = Date.now();
    for (let i = 0; ; i += 1) {
      const ips = new Map<string, string>();
      for (const p of await kube.list('Pod')) {
        const key = `${p.metadata.namespace}/${p.metadata.name}`;
        if (this.podKeys.has(key) && !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && typeof p.status?.podIP === 'string') ips.set(key, p.status.podIP);
      }
      if (ips.size === this.podKeys.size) { this.fleet.setPodIps(ips); break; }
      if (i > 600) throw new EnvironmentError(`kwok ran ${ips.size} of the fleet's ${this.podKeys.size} pods within 120 s`);
      await sleep(200);
    }
    this.log?.(`lab: fleet: ${this.podKeys.size} pods running with kwok's IPs (${Date.now() - t0} ms more)`);
  }
}
