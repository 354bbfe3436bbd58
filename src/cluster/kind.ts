import { EnvironmentError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import { fixturePath } from '../topology/fixture-files.js';
import { pinnedVersions } from '../topology/versions.js';
import { kindInstallHint } from './install-hints.js';
import { lastLine, runTool, type RunResult } from './process-runner.js';

/** Default kind cluster name; its kubeconfig context is `kind-<name>`. */
export const DEFAULT_KIND_CLUSTER = 'mesh-verify';
export const KIND_CONFIG_FILE = fixturePath('kind', 'cluster.yaml');

export function kindContextName(cluster: string): string {
  return `kind-${cluster}`;
}

function kind(args: string[], opts: { timeoutMs?: number; onLine?: (l: string) => void } = {}): Promise<RunResult> {
  return runTool('kind', args, { ...opts, installHint: kindInstallHint() });
}

/** `kind version` -> 'v0.29.0' (null if the output is not recognised). */
export async function kindVersion(): Promise<string | null> {
  const r = await kind(['version']);
  return /\bv\d+\.\d+\.\d+\S*/.exec(r.stdout)?.[0] ?? null;
}

export async function kindClusterExists(name: string): Promise<boolean> {
  const r = await kind(['get', 'clusters']);
  if (r.code !== 0) throw new EnvironmentError(`kind get clusters failed: ${lastLine(r)}`, 'check that Docker is running (docker info)');
  return r.stdout.split('\n').map((l) => l.trim()).includes(name);
}

/**
 * `kind create cluster` from the config file with the pinned node image; writes the context
 * `kind-<name>` into the default kubeconfig.
 */
export async function createKindCluster(name: string, configFile: string = KIND_CONFIG_FILE, progress?: Progress,
  opts: { image?: string; timeoutMs?: number } = {}): Promise<{ context: string }> {
  const image = opts.image ?? pinnedVersions().kindNodeImage;
  const step = progress?.step(`creating kind cluster ${name} (${image.split('@')[0]})`);
  const r = await kind(['create', 'cluster', '--name', name, '--config', configFile, '--image', image, '--wait', '120s'], {
    timeoutMs: opts.timeoutMs ?? 10 * 60_000,
    onLine: (l) => step?.update(`kind: ${l}`),
  });
  if (r.code !== 0) {
    const line = lastLine(r);
    step?.fail(`kind create cluster ${name} failed: ${line}`);
    const portBusy = /address already in use|port is already allocated/i.test(r.stderr);
    throw new EnvironmentError(`kind create cluster ${name} failed: ${line}`,
      portBusy ? 'free host port 9443 (fixtures/kind/cluster.yaml maps it to the gateway) or delete the other cluster'
        : 'check Docker (docker info) and run mesh-verify down to remove a half-created cluster');
  }
  step?.succeed(`kind cluster ${name} created`);
  return { context: kindContextName(name) };
}

export async function deleteKindCluster(name: string, progress?: Progress): Promise<void> {
  const step = progress?.step(`deleting kind cluster ${name}`);
  const r = await kind(['delete', 'cluster', '--name', name], { timeoutMs: 5 * 60_000 });
  if (r.code !== 0) {
    step?.fail();
    throw new EnvironmentError(`kind delete cluster ${name} failed: ${lastLine(r)}`, `run kind delete cluster --name ${name}`);
  }
  step?.succeed(`kind cluster ${name} deleted`);
}
