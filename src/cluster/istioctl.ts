import type { V1Pod } from '@kubernetes/client-node';
import { EnvironmentError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import { fixturePath } from '../topology/fixture-files.js';
import { pinnedVersions } from '../topology/versions.js';
import { istioctlInstallHint } from './install-hints.js';
import type { KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';
import { lastLine, runTool, type RunResult } from './process-runner.js';

export const ISTIO_OPERATOR_FILE = fixturePath('istio', 'istio-operator.yaml');

function istioctl(args: string[], opts: { timeoutMs?: number; onLine?: (l: string) => void } = {}): Promise<RunResult> {
  return runTool('istioctl', args, { ...opts, installHint: istioctlInstallHint() });
}

/** Client version of the istioctl on PATH ('1.27.1'), or null if not recognised. */
export async function istioctlVersion(): Promise<string | null> {
  const r = await istioctl(['version', '--remote=false']);
  return /(\d+\.\d+\.\d+[-.\w]*)/.exec(r.stdout)?.[1] ?? null;
}

/** Istio version from an image reference: 'docker.io/istio/pilot:1.27.1-distroless' -> '1.27.1'. */
export function versionFromImage(image: string): string | null {
  const tag = image.includes('@') ? null : image.slice(image.lastIndexOf(':') + 1);
  if (!tag || tag.includes('/')) return null;
  return /^(\d+\.\d+\.\d+(?:-(?:alpha|beta|rc)\.?\d*)?)/.exec(tag)?.[1] ?? tag;
}

/** Version and revision of a running istiod pod. */
export function istioFromPod(pod: V1Pod): { version: string; revision: string } | null {
  const container = pod.spec?.containers?.find((c) => c.name === 'discovery') ?? pod.spec?.containers?.[0];
  const image = container?.image;
  if (!image) return null;
  const envVersion = container.env?.find((e) => e.name === 'ISTIO_VERSION')?.value;
  const version = envVersion ?? versionFromImage(image);
  if (!version) return null;
  return { version, revision: pod.metadata?.labels?.['istio.io/rev'] ?? 'default' };
}

/**
 * An existing Istio control plane: istiod pods (label app=istiod) in istio-system, else anywhere.
 * Returns null when there is none.
 */
export async function detectIstio(clients: KubeClients): Promise<{ version: string; revision: string } | null> {
  const list = async (ns?: string) => {
    try {
      return ns
        ? (await clients.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=istiod' })).items
        : (await clients.core.listPodForAllNamespaces({ labelSelector: 'app=istiod' })).items;
    } catch (err) {
      if (apiErrorCode(err) === 404) return [];
      if (err instanceof EnvironmentError) throw err;
      throw new EnvironmentError(`looking for istiod pods failed: ${apiErrorMessage(err)}`, 'use a context that can list pods', { cause: err });
    }
  };
  let pods = await list('istio-system');
  if (pods.length === 0) pods = await list();
  const running = pods.filter((p) => p.status?.phase === 'Running');
  for (const p of [...running, ...pods]) {
    const found = istioFromPod(p);
    if (found) return found;
  }
  return null;
}

export interface InstallIstioOptions {
  /** Istio version to install (default: pinned in fixtures/istio/versions.json). */
  version?: string;
  operatorFile?: string;
  progress?: Progress;
  kubeconfig?: string;
  context?: string;
  timeoutMs?: number;
}

/**
 * `istioctl install -y -f fixtures/istio/istio-operator.yaml`. istioctl installs its own version,
 * so the istioctl on PATH must be the requested one.
 */
export async function installIstio(opts: InstallIstioOptions = {}): Promise<{ version: string }> {
  const version = opts.version ?? pinnedVersions().istio;
  const have = await istioctlVersion();
  if (have !== version) {
    throw new EnvironmentError(`istioctl on PATH is ${have ?? 'of an unknown version'}, but Istio ${version} is wanted`,
      istioctlInstallHint(version));
  }
  const step = opts.progress?.step(`installing Istio ${version} (istioctl install)`);
  const args = ['install', '-y', '-f', opts.operatorFile ?? ISTIO_OPERATOR_FILE];
  if (opts.kubeconfig) args.push('--kubeconfig', opts.kubeconfig);
  if (opts.context) args.push('--context', opts.context);
  const r = await istioctl(args, { timeoutMs: opts.timeoutMs ?? 10 * 60_000, onLine: (l) => step?.update(`istioctl: ${l}`) });
  if (r.code !== 0) {
    step?.fail(`istioctl install failed: ${lastLine(r)}`);
    throw new EnvironmentError(`istioctl install failed: ${lastLine(r)}`, 'run istioctl install -f fixtures/istio/istio-operator.yaml by hand to see the full output');
  }
  step?.succeed(`Istio ${version} installed`);
  return { version };
}
