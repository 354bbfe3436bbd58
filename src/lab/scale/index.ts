import type { KubernetesObject } from '@kubernetes/client-node';
import type { LabPod } from '../types.js';
import type { PlantedProblem } from './planted.js';

export type { PlantedProblem } from './planted.js';

export interface FleetOptions {
  /** Number of proxy pods (sidecars and a few gateways). */
  count: number;
  /** Seed of the deterministic variety (default 1). */
  seed?: number;
  log?: (line: string) => void;
}

export interface RunningFleet {
  pods(): LabPod[];
  /** Namespaces, PeerAuthentications, DestinationRules, Services, istiod pods, root ConfigMap ... */
  objects(): KubernetesObject[];
  planted: PlantedProblem[];
  /**
   * The pods' IPs as the API reports them (namespace/name -> status.podIP): the pods' `ip` and
   * the IP in each proxy's answers (its listeners, endpoints, node metadata) follow.
   */
  setPodIps(ips: ReadonlyMap<string, string>): void;
  stop(): Promise<void>;
}

/** Start N proxies with admin servers on 127.0.0.1 serving answers recorded from real Envoy (issues 5, 10). */
export async function startFleet(opts: FleetOptions): Promise<RunningFleet> {
  const { startFleetImpl } = await import('./fleet.js');
  return startFleetImpl(opts);
}
