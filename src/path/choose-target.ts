import type { Progress } from '../core/progress.js';
import type { PathOptions } from './options.js';
import type { PreparedTarget } from './target.js';

/**
 * Pick and reach the target of a run: the lab (--lab), the cluster of --context/--kubeconfig, or
 * the kind cluster mesh-verify manages. Modules are imported here, when needed.
 */
export async function chooseTarget(opts: PathOptions, progress: Progress): Promise<PreparedTarget> {
  if (opts.lab) {
    const [{ prepareLab }, { startLab }, { loadMeshConfigFile }, { loadLabObjectsFile }] = await Promise.all([
      import('./lab-target.js'), import('../lab/lab.js'), import('../io/mesh-config-file.js'), import('../io/lab-objects-file.js'),
    ]);
    const meshConfig = opts.meshConfig === null ? null : await loadMeshConfigFile(opts.meshConfig);
    const objects = opts.labApply === null ? null : await loadLabObjectsFile(opts.labApply);
    return prepareLab({
      fault: opts.fault,
      ...(meshConfig ? { meshConfig, meshConfigFile: opts.meshConfig! } : {}),
      ...(objects ? { objects, objectsFile: opts.labApply! } : {}),
    }, progress,
      (o) => startLab({ ...o, ...(opts.envoy ? { envoy: opts.envoy } : {}) }));
  }
  const { prepareCluster, prepareKind } = await import('./prepare-target.js');
  if (opts.context || opts.kubeconfig) return prepareCluster(opts, progress);
  return prepareKind(opts, progress);
}
