import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real Envoy binary that scripts/setup-components.sh installed (its `--print` line
 * `envoy <path>`), or null with the reason when it is not installed.
 */
export function realEnvoyPath(): { path: string | null; reason: string } {
  const script = fileURLToPath(new URL('../../scripts/setup-components.sh', import.meta.url));
  const r = spawnSync('bash', [script, '--print'], { encoding: 'utf8', timeout: 30_000 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('envoy '));
  const path = line?.slice('envoy '.length).trim() ?? '';
  if (r.status === 0 && path && path !== 'missing' && existsSync(path)) return { path, reason: '' };
  return { path: null, reason: 'skipped: the real Envoy is not installed (run `bash scripts/setup-components.sh envoy`)' };
}

export interface RunningEnvoy {
  /** GET on the admin port (127.0.0.1). */
  admin(path: string): Promise<string>;
  /** The port a listener (by name) is bound to; listeners are configured with port 0. */
  listenerPort(name: string): Promise<number>;
  /** The lines of a file the bootstrap writes into `dir` (e.g. an access log). */
  readLines(file: string): string[];
  dir: string;
  stop(): Promise<void>;
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start Envoy with a bootstrap built from its temp directory (`bootstrap(dir)`; bind listeners
 * and the admin to 127.0.0.1 port 0). Resolves once the server is LIVE; always `stop()` it.
 */
export async function startEnvoy(binary: string, bootstrap: (dir: string) => Record<string, unknown>): Promise<RunningEnvoy> {
  const dir = mkdtempSync(join(tmpdir(), 'mv-envoy-'));
  const config = join(dir, 'bootstrap.json');
  const adminFile = join(dir, 'admin-address');
  writeFileSync(config, JSON.stringify({
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    ...bootstrap(dir),
  }));
  const child: ChildProcess = spawn(binary, [
    '-c', config, '--admin-address-path', adminFile, '--disable-hot-restart', '--concurrency', '1',
    '-l', 'warning', '--log-path', join(dir, 'envoy.log'), '--file-flush-interval-msec', '50',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const stop = async () => {
    if (!exited && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let adminPort = 0;
    for (let i = 0; i < 300 && !adminPort; i += 1) {
      if (exited) throw new Error(`envoy exited: ${stderr}${existsSync(join(dir, 'envoy.log')) ? readFileSync(join(dir, 'envoy.log'), 'utf8') : ''}`);
      if (existsSync(adminFile)) {
        const m = /:(\d+)\s*$/.exec(readFileSync(adminFile, 'utf8'));
        if (m) adminPort = Number(m[1]);
      }
      if (!adminPort) await sleep(50);
    }
    if (!adminPort) throw new Error('envoy wrote no admin address within 15 s');
    for (let i = 0; ; i += 1) {
      const info = await get(adminPort, '/server_info').catch(() => null);
      if (info?.status === 200 && JSON.parse(info.body).state === 'LIVE') break;
      if (i > 300 || exited) throw new Error(`envoy did not become LIVE: ${stderr}`);
      await sleep(50);
    }
    const admin = async (path: string) => {
      const r = await get(adminPort, path);
      if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`);
      return r.body;
    };
    return {
      dir,
      admin,
      async listenerPort(name) {
        const body = JSON.parse(await admin('/listeners?format=json')) as { listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[] };
        const port = body.listener_statuses?.find((l) => l.name === name)?.local_address?.socket_address?.port_value;
        if (!port) throw new Error(`no listener ${name}`);
        return port;
      },
      readLines(file) {
        const p = join(dir, file);
        return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean) : [];
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
