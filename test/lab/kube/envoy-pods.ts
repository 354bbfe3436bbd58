import type { LabPod } from '../../../src/lab/types.js';
import { realEnvoyPath, requireEnvoyInCi, startEnvoy, type RunningEnvoy } from '../../helpers/real-envoy.js';

/**
 * Pods for the Kubernetes API double's tests: each with a REAL Envoy (the pinned release) whose
 * admin API is the pod's port 15000, so port-forward and `pilot-agent request` reach a real Envoy.
 * The container logs are fixed test lines (the logs endpoint is what is tested, not Envoy).
 */
export interface EnvoyPods {
  pods(): LabPod[];
  envoys: RunningEnvoy[];
  stop(): Promise<void>;
}

export const envoyForPods = realEnvoyPath();
requireEnvoyInCi(envoyForPods);

export async function startEnvoyPods(specs: { namespace: string; name: string; app: string; sidecar?: boolean }[]): Promise<EnvoyPods> {
  if (!envoyForPods.path) throw new Error(`no Envoy ${envoyForPods.reason}`);
  const envoys = await Promise.all(specs.map((s, i) => startEnvoy(envoyForPods.path!, () => ({
    node: { id: `sidecar~10.244.0.${10 + i}~${s.name}.${s.namespace}~${s.namespace}.svc.cluster.local`, cluster: `${s.app}.${s.namespace}` },
  }), s.name)));
  const pods: LabPod[] = specs.map((s, i) => {
    const lines = [`{"start_time":"2020-01-01T00:00:00.000Z","x_request_id":"old-${s.app}"}`, `{"start_time":"${new Date().toISOString()}","x_request_id":"req-${s.app}-1"}`];
    const sidecar = s.sidecar ?? true;
    return {
      namespace: s.namespace, name: s.name, app: s.app, serviceAccount: s.app, ip: `10.244.0.${10 + i}`, labels: { app: s.app },
      containers: sidecar ? [s.app, 'istio-proxy'] : [s.app],
      ports: (sidecar ? { 15000: envoys[i].adminPort } : {}) as Record<number, number>,
      logs: (c) => (c === 'istio-proxy' ? lines : [`${s.app} listening on 8080`]),
    };
  });
  return { pods: () => pods, envoys, async stop() { await Promise.all(envoys.map((e) => e.stop())); } };
}
