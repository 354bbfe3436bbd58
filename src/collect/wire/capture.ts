import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { WireEvidence } from '../../bundle/types.js';
import { MESH_VERIFY_ID_HEADER } from '../../envoy/access-log-format.js';
import { captureFilter, hopFacts, type CapturePoint, type HopTarget } from './hop-facts.js';
import { parsePcap } from './pcap.js';

/**
 * The wire witness: tcpdump on each interface the hops are seen on (the loopback interface by
 * default; a hop's `at` names another, possibly in a pod's network namespace, entered with
 * nsenter), filtered to exactly the hops' destinations, bounded in bytes and time, its pcap read
 * from stdout (never a file: tcpdump drops root to its own user before it opens one). Touches
 * processes; the judging is pure (hop-facts.ts, src/analyze/wire-evidence.ts).
 */
export interface WireCaptureOptions {
  hops: HopTarget[];
  /** The capture program: this, else MESH_VERIFY_TCPDUMP, else `tcpdump` on PATH. */
  tool?: string | null;
  interface?: string;
  /** Stop recording after this many pcap bytes (default 64 MiB). */
  maxBytes?: number;
  /** Stop recording after this long (default 60 s). */
  maxMs?: number;
  /** How long tcpdump may take to say it listens (default 5 s). */
  startTimeoutMs?: number;
  now?: () => Date;
}

export interface WireCaptureSession {
  /** Why the capture is not running (one line), or null when it records. */
  unavailable: string | null;
  /** Stop recording and judge nothing: the hops' facts, searched for the run's marker values. */
  stop(markers: readonly string[]): Promise<WireEvidence>;
}

export const DEFAULT_CAPTURE_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CAPTURE_MAX_MS = 60_000;
const INSTALL_HINT = 'install tcpdump (Debian: apt-get install -y tcpdump, or scripts/setup-components.sh capture) and run as root (capturing needs CAP_NET_RAW)';

export function captureTool(opt?: string | null): string {
  return opt || process.env.MESH_VERIFY_TCPDUMP || 'tcpdump';
}

/** `tcpdump 4.99.3` from `tcpdump --version`, or the reason it cannot run. */
function toolVersion(tool: string): { version: string } | { error: string } {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8', timeout: 5_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? `${tool} not found` : `${tool} does not run (${code ?? r.error.message})` };
  }
  const line = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => /version/i.test(l))?.trim();
  return { version: line ? line.replace(/\s*version\s*/i, ' ') : tool };
}

/** One tcpdump per capture point of the hops; their evidence merged in the hops' order. */
export async function startWireCapture(opts: WireCaptureOptions): Promise<WireCaptureSession> {
  const groups = new Map<string, { at: CapturePoint | undefined; hops: HopTarget[] }>();
  for (const h of opts.hops) {
    const key = h.at ? `${h.at.netns ?? ''}|${h.at.interface}` : '';
    const g = groups.get(key) ?? { at: h.at, hops: [] };
    g.hops.push(h);
    groups.set(key, g);
  }
  if (groups.size <= 1) {
    const at = [...groups.values()][0]?.at;
    return startOne({ ...opts, ...(at ? { interface: at.interface } : {}) }, at);
  }
  const sessions = await Promise.all([...groups.values()].map((g) => startOne({ ...opts, hops: g.hops, interface: g.at?.interface ?? opts.interface }, g.at)));
  const unavailable = sessions.find((x) => x.unavailable)?.unavailable ?? null;
  return {
    unavailable,
    async stop(markers) {
      const parts = await Promise.all(sessions.map((x) => x.stop(markers)));
      const byHop = new Map(parts.flatMap((e) => e.hops.map((h) => [h.segment, h] as const)));
      const failed = parts.find((e) => e.status !== 'captured');
      const times = (k: 'startedAt' | 'finishedAt') => parts.map((e) => e[k]).filter((t): t is string => t !== null).sort();
      return {
        ...parts[0]!,
        status: failed ? failed.status : 'captured',
        reason: failed?.reason ?? (parts.map((e) => e.reason).filter(Boolean).join('; ') || null),
        interface: parts.map((e) => e.interface).join(', '),
        filter: parts.map((e) => `${e.interface}: ${e.filter}`).join(' | '),
        startedAt: times('startedAt')[0] ?? null,
        finishedAt: times('finishedAt').at(-1) ?? null,
        packets: parts.reduce((n, e) => n + e.packets, 0),
        bytes: parts.reduce((n, e) => n + e.bytes, 0),
        truncated: parts.some((e) => e.truncated),
        hops: failed ? [] : opts.hops.map((h) => byHop.get(h.segment)!).filter(Boolean),
      };
    },
  };
}

async function startOne(opts: WireCaptureOptions, at: CapturePoint | undefined): Promise<WireCaptureSession> {
  const now = opts.now ?? (() => new Date());
  const tool = captureTool(opts.tool);
  const iface = opts.interface ?? 'lo';
  const shown = at?.name ?? iface;
  const filter = captureFilter(opts.hops);
  const maxBytes = opts.maxBytes ?? DEFAULT_CAPTURE_MAX_BYTES;
  const maxMs = opts.maxMs ?? DEFAULT_CAPTURE_MAX_MS;
  const base = (status: WireEvidence['status'], reason: string | null, toolName: string | null): WireEvidence => ({
    status, reason, tool: toolName, interface: shown, filter, startedAt: null, finishedAt: null,
    packets: 0, bytes: 0, truncated: false, marker: { header: MESH_VERIFY_ID_HEADER, values: 0, example: null }, hops: [],
  });
  const unavailable = (why: string, toolName: string | null = null): WireCaptureSession => {
    const line = `packet capture unavailable: ${why} (fix: ${INSTALL_HINT}); the wire level is skipped`;
    return { unavailable: line, stop: async (markers) => ({ ...base('unavailable', line, toolName), marker: markerInfo(markers) }) };
  };
  if (opts.hops.length === 0) return unavailable('no hop to capture');
  const v = toolVersion(tool);
  if ('error' in v) return unavailable(v.error);

  // -U with -w -: write each packet as it comes; --immediate-mode: no kernel-side batching;
  // -n: no name lookups; -s 0: whole packets (the marker is in the payload). As cilium-cli's
  // encryption test (connectivity/tests/encryption.go), wait for "listening on <iface>" first.
  const argv = [tool, '-i', iface, '-n', '-U', '--immediate-mode', '-s', '0', '-w', '-', filter];
  const [command, ...args] = at?.netns ? ['nsenter', `--net=${at.netns}`, '--', ...argv] : argv;
  const child: ChildProcess = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let bytes = 0;
  let limit: string | null = null;
  let stderr = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('close', () => { exited = true; resolve(); }));
  const spawnError = new Promise<string>((resolve) => child.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message)));
  const kill = () => { if (!exited) child.kill('SIGTERM'); };
  child.stdout!.on('data', (c: Buffer) => {
    if (bytes + c.length > maxBytes) {
      if (limit === null) { limit = `stopped at the ${maxBytes}-byte bound`; kill(); }
      return;
    }
    bytes += c.length;
    chunks.push(c);
  });
  const listening = new Promise<void>((resolve) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-4000);
      if (/listening on/i.test(stderr)) resolve();
    });
  });
  const started = await Promise.race([
    listening.then(() => 'ok' as const),
    exit.then(() => 'exited' as const),
    spawnError.then((code) => `error:${code}`),
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.startTimeoutMs ?? 5_000).unref()),
  ]);
  if (started !== 'ok') {
    kill();
    const said = stderr.split('\n').map((l) => l.trim()).filter(Boolean).join(' ').slice(0, 300);
    const why = started === 'timeout' ? `${tool} did not start listening on ${shown} within ${(opts.startTimeoutMs ?? 5_000) / 1000} s`
      : started.startsWith('error:') ? `${tool} could not be started (${started.slice(6)})`
        : `${tool} cannot capture on ${shown}${said ? `: ${said}` : ''}`;
    return unavailable(why, v.version);
  }
  const startedAt = now().toISOString();
  const onExit = () => { if (!exited) child.kill('SIGKILL'); };
  process.once('exit', onExit);
  const timer = setTimeout(() => { if (limit === null) limit = `stopped at the ${Math.round(maxMs / 1000)} s bound`; kill(); }, maxMs);
  timer.unref();

  return {
    unavailable: null,
    async stop(markers) {
      clearTimeout(timer);
      // Let the last packets of the run reach tcpdump's output before it stops.
      if (!exited) await new Promise((r) => setTimeout(r, 150));
      kill();
      await Promise.race([exit, new Promise((r) => setTimeout(r, 3_000))]);
      if (!exited) { child.kill('SIGKILL'); await exit; }
      process.removeListener('exit', onExit);
      const finishedAt = now().toISOString();
      let read;
      try {
        read = parsePcap(Buffer.concat(chunks));
      } catch (err) {
        return { ...base('unavailable', `packet capture unreadable: ${(err as Error).message}; the wire level is skipped`, v.version), startedAt, finishedAt, marker: markerInfo(markers) };
      }
      return {
        ...base('captured', limit, v.version),
        startedAt,
        finishedAt,
        packets: read.segments.length,
        bytes,
        truncated: limit !== null || read.truncated,
        marker: markerInfo(markers),
        hops: opts.hops.map((h) => hopFacts(read.segments, h, markers)),
      };
    },
  };
}

function markerInfo(markers: readonly string[]): WireEvidence['marker'] {
  return { header: MESH_VERIFY_ID_HEADER, values: markers.length, example: markers[0] ?? null };
}
