import type { Progress } from '../core/progress.js';
import type { PathOptions } from './options.js';
import type { PreparedTarget } from './target.js';

/**
 * Pick and reach the target of a run: the lab (--lab), the cluster of --context/--kubeconfig, or
 * the kind cluster mesh-verify manages. Modules are imported here, when needed.
 */
export async function chooseTarget(opts: PathOptions, progress: Progress): Promise<PreparedTarget> {
  if (opts.lab) {
    const [{ prepareLab }, { startLab }] = await Promise.all([import('./lab-target.js'), import('../lab/lab.js')]);
    return prepareLab({ fault: opts.fault }, progress, (o) => startLab({ ...o, ...(opts.envoy ? { envoy: opts.envoy } : {}) }));
  }
  const { prepareCluster, prepareKind } = await import('./prepare-target.js');
  if (opts.context || opts.kubeconfig) return prepareCluster(opts, progress);
  return prepareKind(opts, progress);
}
