import type { MeshState } from '../types.js';
import type { MetricWorkload } from './istio-metrics.js';

/** What every part of the data plane may ask of the whole (current state, peers, hop ports). */
export interface MeshContext {
  current(): MeshState;
  /** The workload behind a SPIFFE id (Istio learns it by metadata exchange), or null. */
  workloadBySpiffe(spiffeId: string | null): MetricWorkload | null;
  /** The port a party connects to for a hop: the target itself, or a recording tap in front of it. */
  hopPort(hop: HopName): number;
}

/** The hops between parties, in path order (tap names). */
export const HOPS = [
  'nlb->gateway',
  'gateway->bff',
  'bff-sidecar->bff-app',
  'bff-app->bff-sidecar',
  'bff->svc',
  'svc-sidecar->svc-app',
  'plaintext-caller->svc',
] as const;
export type HopName = (typeof HOPS)[number];
