import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../../core/errors.js';

/** The Envoy release the lab runs (fixtures/istio/versions.json `envoy.version`). */
export function pinnedEnvoyVersion(): string {
  const file = fileURLToPath(new URL('../../../fixtures/istio/versions.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { envoy: { version: string } }).envoy.version;
}

/** The cache scripts/setup-components.sh installs into (same rule as the script). */
export function componentCache(env: NodeJS.ProcessEnv = process.env): string {
  return env.MESH_VERIFY_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mesh-verify');
}

function executable(path: string): boolean {
  try { accessSync(path, constants.X_OK); return true; } catch { return false; }
}

export const ENVOY_INSTALL_FIX = 'npm run setup (installs the pinned Envoy), or pass --envoy PATH / set MESH_VERIFY_ENVOY';

/**
 * The Envoy binary the lab runs, in this order: `--envoy PATH`, MESH_VERIFY_ENVOY, the pinned
 * release in the component cache, then `envoy` on PATH. Missing: EnvironmentError (exit 4)
 * naming the install command.
 */
export function findEnvoy(explicit?: string, env: NodeJS.ProcessEnv = process.env): { path: string; source: string } {
  if (explicit) {
    if (!executable(explicit)) throw new EnvironmentError(`--envoy ${explicit} is not an executable file`, ENVOY_INSTALL_FIX);
    return { path: explicit, source: '--envoy' };
  }
  if (env.MESH_VERIFY_ENVOY) {
    if (!executable(env.MESH_VERIFY_ENVOY)) throw new EnvironmentError(`MESH_VERIFY_ENVOY=${env.MESH_VERIFY_ENVOY} is not an executable file`, ENVOY_INSTALL_FIX);
    return { path: env.MESH_VERIFY_ENVOY, source: 'MESH_VERIFY_ENVOY' };
  }
  const cached = join(componentCache(env), 'envoy', pinnedEnvoyVersion(), 'bin', 'envoy');
  if (executable(cached)) return { path: cached, source: 'cache' };
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const p = join(dir, 'envoy');
    if (executable(p)) return { path: p, source: 'PATH' };
  }
  throw new EnvironmentError(`the lab needs Envoy ${pinnedEnvoyVersion()} and found none`, ENVOY_INSTALL_FIX);
}
