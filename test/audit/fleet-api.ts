import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFleet, type RunningFleet } from '../../src/lab/scale/index.js';
import { startKubeApi, type KubeApi } from '../../src/lab/kube/server.js';

/** A scale fleet behind the lab's Kubernetes API double, with a kubeconfig file for it. */
export interface FleetApi {
  fleet: RunningFleet;
  api: KubeApi;
  kubeconfig: string;
  stop(): Promise<void>;
}

export async function startFleetApi(count: number, seed = 1): Promise<FleetApi> {
  const fleet = await startFleet({ count, seed });
  const api = await startKubeApi({ pods: fleet.pods });
  for (const o of fleet.objects()) api.apply(o as Parameters<KubeApi['apply']>[0], 'mesh-verify-fleet');
  const dir = mkdtempSync(join(tmpdir(), 'mesh-verify-audit-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await api.writeKubeconfig(kubeconfig);
  return {
    fleet, api, kubeconfig,
    stop: async () => { await api.close(); await fleet.stop(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** `code | object` keys of error and warning findings (the planted ground truth's scope). */
export function findingKeys(findings: { severity: string; code: string; object: string }[]): string[] {
  return findings.filter((f) => f.severity !== 'info').map((f) => `${f.code} | ${f.object}`).sort();
}
