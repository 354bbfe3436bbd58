import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEnvoy } from '../../src/lab/envoy/binary.js';
import { startEnvoy as startSupervised } from '../../src/lab/envoy/process.js';

/**
 * The real Envoy the lab would run (src/lab/envoy/binary.ts findEnvoy: MESH_VERIFY_ENVOY, the
 * cache scripts/setup-components.sh fills, PATH), or null with the reason. In CI a missing Envoy
 * is a failure: use requireEnvoyInCi() at the top of a test file.
 */
export function realEnvoyPath(): { path: string | null; reason: string } {
  try {
    return { path: findEnvoy().path, reason: '' };
  } catch {
    return { path: null, reason: '(skipped: the real Envoy is not installed; run npm run setup)' };
  }
}

/** In CI (CI set) a missing Envoy fails the test file instead of skipping it. */
export function requireEnvoyInCi(envoy: { path: string | null }): void {
  if (process.env.CI && !envoy.path) throw new Error('the pinned Envoy is not installed (run npm run setup)');
}

export interface RunningEnvoy {
  /** GET on the admin port (127.0.0.1); throws on a status >= 400. */
  admin(path: string): Promise<string>;
  adminPort: number;
  /** The port a listener (by name) is bound to; listeners are configured with port 0. */
  listenerPort(name: string): Promise<number>;
  /** The lines of a file the bootstrap writes into `dir` (e.g. an access log). */
  readLines(file: string): string[];
  dir: string;
  stop(): Promise<void>;
}

/**
 * Start Envoy under the lab's supervisor (src/lab/envoy/process.ts) with a bootstrap built from
 * its temp directory (`bootstrap(dir)`; listeners on 127.0.0.1 port 0, admin on 127.0.0.1:0).
 * Resolves once the server is LIVE; always `stop()` it.
 */
export async function startEnvoy(binary: string, bootstrap: (dir: string) => Record<string, unknown>, name = 'test-envoy'): Promise<RunningEnvoy> {
  const dir = mkdtempSync(join(tmpdir(), 'mv-envoy-'));
  writeFileSync(join(dir, 'bootstrap.json'), JSON.stringify({
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    ...bootstrap(dir),
  }));
  let proc;
  try {
    proc = await startSupervised({ name, binary, dir, adminHost: '127.0.0.1', adminPort: 0 });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const p = proc;
  const admin = async (path: string) => {
    const r = await p.admin(path);
    if (r.status >= 400) throw new Error(`GET ${path}: HTTP ${r.status}`);
    return r.body;
  };
  return {
    dir,
    admin,
    get adminPort() { return p.adminPort; },
    async listenerPort(listener) {
      const body = JSON.parse(await admin('/listeners?format=json')) as { listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[] };
      const port = body.listener_statuses?.find((l) => l.name === listener)?.local_address?.socket_address?.port_value;
      if (!port) throw new Error(`no listener ${listener}`);
      return port;
    },
    readLines(file) {
      const path = join(dir, file);
      return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
    },
    async stop() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
