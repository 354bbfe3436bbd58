import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../core/errors.js';
import { componentCache } from './envoy/binary.js';
import { pinnedVersions } from '../topology/versions.js';

/** The real Kubernetes control plane the lab runs (fixtures/istio/versions.json `kube`). */
export interface KubePins { kubernetes: string; etcd: string; kwok: string }

export function pinnedKube(): KubePins {
  const file = fileURLToPath(new URL('../../fixtures/istio/versions.json', import.meta.url));
  const { kube } = JSON.parse(readFileSync(file, 'utf8')) as { kube: KubePins };
  return { kubernetes: kube.kubernetes, etcd: kube.etcd, kwok: kube.kwok };
}

/** Kubernetes >= 1.33 (the pinned minor): Istio injects native sidecars (ENABLE_NATIVE_SIDECARS=auto). */
export function labNativeSidecars(): boolean {
  return Number(pinnedKube().kubernetes.split('.')[1]) >= 33;
}

/** The directory scripts/setup-components.sh builds the `kube` component into. */
export function kubeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const p = pinnedKube();
  return join(componentCache(env), 'kube', `${p.kubernetes}-etcd${p.etcd}-kwok${p.kwok}`);
}

export interface KubeBinaries {
  apiserver: string;
  controllerManager: string;
  scheduler: string;
  etcd: string;
  kwok: string;
  /** kwok's CRDs (crds/*.yaml) and lifecycle stages (stages.yaml), from the kwok release itself. */
  kwokData: string;
  /** Where they were found: MESH_VERIFY_KUBE_BIN, cache or PATH. */
  source: string;
}

export const KUBE_INSTALL_FIX = 'npm run setup (builds the pinned kube-apiserver, etcd and kwok into the cache), or set MESH_VERIFY_KUBE_BIN to a directory holding them';

const NAMES = {
  apiserver: 'kube-apiserver', controllerManager: 'kube-controller-manager', scheduler: 'kube-scheduler', etcd: 'etcd', kwok: 'kwok',
} as const;

function executable(path: string): boolean {
  try { accessSync(path, constants.X_OK); return true; } catch { return false; }
}

/**
 * The lab's control-plane binaries, each from the first of: MESH_VERIFY_KUBE_BIN (a directory),
 * the component cache, PATH. kwok's data comes from beside the binaries (`../share/kwok`).
 * Anything missing: EnvironmentError (exit 4) naming every missing binary and the install command.
 */
export function findKubeBinaries(env: NodeJS.ProcessEnv = process.env): KubeBinaries {
  const dirs: [string, string][] = [];
  if (env.MESH_VERIFY_KUBE_BIN) dirs.push([env.MESH_VERIFY_KUBE_BIN, 'MESH_VERIFY_KUBE_BIN']);
  dirs.push([join(kubeCacheDir(env), 'bin'), 'cache']);
  for (const d of (env.PATH ?? '').split(delimiter).filter(Boolean)) dirs.push([d, 'PATH']);
  const found: Partial<Record<keyof typeof NAMES, string>> = {};
  const sources = new Set<string>();
  const missing: string[] = [];
  for (const [key, name] of Object.entries(NAMES) as [keyof typeof NAMES, string][]) {
    const hit = dirs.find(([d]) => executable(join(d, name)));
    if (!hit) { missing.push(name); continue; }
    found[key] = join(hit[0], name);
    sources.add(hit[1]);
  }
  const p = pinnedKube();
  if (missing.length > 0) {
    throw new EnvironmentError(`the lab's Kubernetes control plane (Kubernetes ${p.kubernetes}, etcd ${p.etcd}, kwok ${p.kwok}) is missing ${missing.join(', ')}`, KUBE_INSTALL_FIX);
  }
  const kwokData = join(dirname(dirname(found.kwok!)), 'share', 'kwok');
  if (!existsSync(join(kwokData, 'stages.yaml'))) {
    throw new EnvironmentError(`kwok's stages and CRDs are not beside ${found.kwok} (share/kwok/stages.yaml)`, KUBE_INSTALL_FIX);
  }
  return { ...(found as Record<keyof typeof NAMES, string>), kwokData, source: [...sources].join('+') };
}

/**
 * Istio's CRDs for the pinned release (scripts/setup-components.sh istio-crds: istio.io/api's
 * kubernetes/customresourcedefinitions.gen.yaml, the release's crd-all.gen.yaml). Missing: exit 4.
 */
export function findIstioCrds(env: NodeJS.ProcessEnv = process.env): string {
  // The release setup-components.sh installed them for: versions.json's pin, whatever ISTIO_ROW says.
  const { istio } = pinnedVersions({});
  const path = join(componentCache(env), 'istio-crds', istio, 'crds.yaml');
  if (!existsSync(path)) throw new EnvironmentError(`Istio ${istio}'s CRDs are not installed (${'istio-crds'} component)`, 'npm run setup (or bash scripts/setup-components.sh istio-crds)');
  return path;
}
