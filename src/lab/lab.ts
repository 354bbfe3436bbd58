import { startKubeLab, type KubeLab } from './kube-lab.js';
import type { LabOptions } from './types.js';

/** The lab on a real Kubernetes control plane (src/lab/kube-lab.ts), with the scale fleet when asked. */
export type StartedLab = KubeLab;

/**
 * Start the lab: real Envoy and the real app behind a real Kubernetes control plane (etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler, kwok); see src/lab/kube-lab.ts.
 * With `proxies`: the audit's scale fleet too, on the same control plane (its pods bound to
 * kwok's node, port-forwarded by kwok to their recorded admin answers).
 */
export async function startLab(opts: LabOptions = {}): Promise<StartedLab> {
  return startKubeLab(opts);
}
