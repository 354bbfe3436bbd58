import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { EnvironmentError } from '../../core/errors.js';

/**
 * One supervised Envoy process: started from a bootstrap file, LIVE when its admin says so,
 * stopped with SIGTERM then SIGKILL. Every process this module starts is also killed when the
 * Node process exits (an Envoy must never outlive the lab).
 */
export interface EnvoyProcess {
  name: string;
  adminHost: string;
  /** The admin port (the one Envoy picked when the bootstrap says 0). */
  adminPort: number;
  /** GET on the admin API. */
  admin(path: string, method?: 'GET' | 'POST'): Promise<{ status: number; body: string }>;
  /** Envoy's own log (its --log-path file). */
  log(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHook = false;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or `ms` passed, whichever is first; the timer does not outlive it. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => { timer = setTimeout(r, ms); })]);
  clearTimeout(timer);
}

/** A child process of the lab: whether it has exited, and a stop that ends it for sure. */
export interface SupervisedChild {
  exited: Promise<void>;
  gone(): boolean;
  /** SIGTERM, then SIGKILL after `termMs`; resolves once it has exited (or `killMs` after the kill). */
  stop(termMs: number, killMs?: number): Promise<void>;
}

/** util-linux setpriv (Debian's essential util-linux ships it), for PR_SET_PDEATHSIG. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/**
 * Spawn a process the lab owns. On Linux it is started through `setpriv --pdeathsig SIGKILL`, so
 * the kernel kills it when the thread that started it ends, also when this process is killed
 * outright (SIGKILL, a test runner's worker ended on a timeout), where no exit handler runs. Node
 * spawns from the thread whose event loop asked, which lives as long as the lab does.
 */
export function spawnOwned(command: string, args: string[], options: SpawnOptions, as?: { gid: number }): ChildProcess {
  // --regid: the process's group, as a container's runAsGroup sets it (Istio's rules leave the proxy's group alone).
  const ids = as ? ['--regid', String(as.gid), '--clear-groups'] : [];
  if (SETPRIV && process.platform === 'linux') return spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', ...ids, '--', command, ...args], options);
  if (as) throw new EnvironmentError('running a lab process under another group needs util-linux setpriv on Linux');
  return spawn(command, args, options);
}

/**
 * Supervise a child the lab started (an Envoy, an app): it is killed when this Node process exits,
 * so that nothing the lab starts outlives it.
 */
export function supervise(child: ChildProcess, onExit?: (code: number | null, signal: NodeJS.Signals | null) => void): SupervisedChild {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => { for (const c of live) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });
  }
  live.add(child);
  let gone = false;
  const exited = new Promise<void>((r) => child.once('exit', (code, signal) => {
    gone = true;
    live.delete(child);
    onExit?.(code, signal);
    r();
  }));
  return {
    exited,
    gone: () => gone,
    async stop(termMs, killMs) {
      if (gone) return;
      child.kill('SIGTERM');
      await within(exited, termMs);
      if (gone) return;
      child.kill('SIGKILL');
      await (killMs === undefined ? exited : within(exited, killMs));
    },
  };
}

export function adminRequest(host: string, port: number, path: string, method: 'GET' | 'POST' = 'GET', timeoutMs = 10_000, connect?: () => Duplex): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
        // createConnection is used only without an agent (agent: false would make one).
    const req = request({ host, port, path, method, timeout: timeoutMs, ...(connect ? { createConnection: connect } : { agent: false }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`admin ${host}:${port}${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface StartEnvoyOptions {
  name: string;
  binary: string;
  /** Directory holding bootstrap.json; Envoy's own log goes there too. */
  dir: string;
  adminHost: string;
  /** 0: Envoy picks one (the bootstrap's admin port must be 0 too); read from --admin-address-path. */
  adminPort: number;
  /** How long to wait for LIVE (default 20 s). */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
  /** In a pod's sandbox (src/lab/pod-network.ts): the argv that runs Envoy there, and how to reach its admin (127.0.0.1 inside). */
  sandbox?: { enter(argv: string[]): string[]; connect(host: string, port: number): Duplex; gid?: number };
}

export async function startEnvoy(o: StartEnvoyOptions): Promise<EnvoyProcess> {
  const logPath = join(o.dir, 'envoy.log');
  const adminFile = join(o.dir, 'admin-address');
  const argv = [o.binary,
    '--admin-address-path', adminFile,
    '-c', join(o.dir, 'bootstrap.json'),
    '--disable-hot-restart', '--concurrency', '1',
    '-l', 'warning', '--log-path', logPath,
    // Access-log lines reach the file within 100 ms (default: 10 s), as `kubectl logs` sees stdout.
    '--file-flush-interval-msec', '100', '--file-flush-min-size-kb', '1',
    '--drain-time-s', '1', '--parent-shutdown-time-s', '2',
  ];
  const [command, ...args] = o.sandbox ? o.sandbox.enter(argv) : argv;
  const child = spawnOwned(command!, args, { stdio: ['ignore', 'ignore', 'pipe'] }, o.sandbox?.gid !== undefined ? { gid: o.sandbox.gid } : undefined);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-4000); });
  const sup = supervise(child, (code, signal) => o.log?.(`lab: envoy ${o.name} exited (${signal ?? code})`));
  child.once('error', (err) => { stderr += `\n${err.message}`; });
  const readLog = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const stop = () => sup.stop(3000, 2000);
  let adminPort = o.adminPort;
  const proc: EnvoyProcess = {
    name: o.name,
    adminHost: o.adminHost,
    get adminPort() { return adminPort; },
    admin: (path, method = 'GET') => adminRequest(o.adminHost, adminPort, path, method, 10_000, o.sandbox ? () => o.sandbox!.connect(o.adminHost, adminPort) : undefined),
    log: readLog,
    exited: sup.gone,
    stop,
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (sup.gone()) {
      const why = (readLog().split('\n').filter((l) => /critical|error/.test(l)).slice(-3).join(' | ') || stderr.trim()).slice(0, 600);
      throw new EnvironmentError(`envoy ${o.name} exited while starting: ${why || 'no output'}`, 'check the Envoy binary (npm run setup) and that the lab\'s loopback ports are free');
    }
    if (adminPort === 0 && existsSync(adminFile)) adminPort = Number(/:(\d+)\s*$/.exec(readFileSync(adminFile, 'utf8'))?.[1] ?? 0);
    const info = adminPort === 0 ? null : await proc.admin('/server_info').catch(() => null);
    if (info?.status === 200 && (JSON.parse(info.body) as { state?: string }).state === 'LIVE') return proc;
    if (Date.now() > deadline) {
      await stop();
      throw new EnvironmentError(`envoy ${o.name} did not become LIVE within ${Math.round((o.readyTimeoutMs ?? 20_000) / 1000)} s`, 'see its log with --debug');
    }
    // Inside a sandbox each poll starts a relay process: poll less often.
    await sleep(o.sandbox ? 150 : 40);
  }
}
