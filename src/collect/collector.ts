import type { AdminText, CaptureError, ProxyCapture } from '../bundle/types.js';
import { CERTS_PATH, CLUSTERS_PATH, PROMETHEUS_PATH, SERVER_INFO_PATH, STATS_PATH } from './admin-endpoints.js';
import { fetchConfigDump } from './config-dump.js';
import { runLogLines } from './access-log-lines.js';
import { withTimeout } from './concurrency.js';
import { mapLimit } from '../util/map-limit.js';
import { scrubSecrets } from '../bundle/secrets.js';
import { ResponseTooLargeError } from '../cluster/bounded-http.js';
import { PROXY_CONTAINER, type AdminGetter, type CollectDeps, type FoundPod, type ProxyTarget } from './types.js';

export interface CollectOptions {
  /** Bound for each admin request and each log read (default 10 s). */
  timeoutMs?: number;
  /** Proxies handled at once (default 3). */
  concurrency?: number;
  now?: () => Date;
  /**
   * How long to keep re-reading a proxy's log until it shows every id of `awaitIds` (Envoy
   * flushes access logs periodically; default 12 s, polled every second).
   */
  logWaitMs?: number;
  /** Interval between log reads while waiting (default 1000 ms). */
  logPollMs?: number;
  /** Called when a proxy cannot be read (for progress output). */
  onProblem?: (proxy: string, message: string) => void;
}

interface Session {
  target: ProxyTarget;
  pod: FoundPod | null;
  admin: AdminGetter | null;
  capture: ProxyCapture;
}

/**
 * Evidence from every proxy of the path, in two phases around the probe's requests:
 * `before()` reads counters; `after(ids, since)` reads counters again, certificates, config,
 * cluster status, server info and the access-log lines carrying the run's request ids.
 * A proxy that is missing or unreachable is recorded as such with the reason (never a throw);
 * every failed endpoint is a CaptureError in its ProxyCapture.
 */
/** What `settle` saw: whether every proxy's xDS update counters stopped moving, and how long it waited. */
export interface SettleResult { settled: boolean; waitedMs: number; updates: number }

/**
 * xDS updates each proxy has attempted: LDS, CDS, RDS and SDS (`*.update_attempt`, counted for
 * ADS from istiod and for file-delivered xDS alike). EDS is left out: endpoint churn in a busy
 * cluster never stops, and a changed policy always reaches listeners or clusters.
 */
export const XDS_UPDATE_STATS_PATH = '/stats?filter=' + encodeURIComponent('^(listener_manager\\.lds|cluster_manager\\.cds|.*\\.rds\\.[^.]+|sds\\.[^.]+)\\.update_attempt$');

/** Sum of the update_attempt counters in a /stats text answer. */
export function xdsUpdateCount(statsText: string): number {
  let n = 0;
  for (const line of statsText.split('\n')) {
    const m = /^\S+\.update_attempt: (\d+)$/.exec(line.trim());
    if (m) n += Number(m[1]);
  }
  return n;
}

export interface Collection {
  /**
   * Wait until no proxy has taken a configuration update for `quietMs` (a push that the objects
   * just applied caused has landed), at most `timeoutMs`. Polls every `pollMs` (default 200 ms).
   */
  settle(opts: { quietMs: number; timeoutMs: number; pollMs?: number; onWait?: (waitedMs: number) => void }): Promise<SettleResult>;
  before(): Promise<void>;
  /**
   * `awaitIds`: ids every proxy of the path must have logged (requests that reached svc);
   * `routerIds`: ids the gateway must have logged too (every request it answered, e.g. with 503);
   * the log is re-read until they are all there or `logWaitMs` has passed.
   */
  after(requestIds: readonly string[], since: Date, awaitIds?: readonly string[], routerIds?: readonly string[]): Promise<ProxyCapture[]>;
  /** Close every admin connection (idempotent). */
  close(): Promise<void>;
}

export async function startCollection(targets: readonly ProxyTarget[], deps: CollectDeps, opts: CollectOptions = {}): Promise<Collection> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const limit = opts.concurrency ?? 3;
  const now = opts.now ?? (() => new Date());
  const sessions = await mapLimit(targets, limit, (t) => openSession(t, deps, timeoutMs, opts.onProblem));
  let closed = false;

  const get = async (s: Session, path: string, phase: CaptureError['phase'], field: keyof ProxyCapture['admin'], json: boolean) => {
    const text = await fetchAdmin(s, path, phase, timeoutMs, now, json);
    if (text) s.capture.admin[field] = text;
  };

  return {
    async settle({ quietMs, timeoutMs: limitMs, pollMs = 200, onWait }) {
      const start = Date.now();
      const read = async () => {
        const counts = await mapLimit(sessions.filter(live), limit, async (s) => {
          try {
            const res = await withTimeout((s.admin as AdminGetter).get(XDS_UPDATE_STATS_PATH, { timeoutMs }), timeoutMs, `GET ${XDS_UPDATE_STATS_PATH}`);
            return res.status === 200 ? xdsUpdateCount(res.body) : -1;
          } catch { return -1; }
        });
        return counts.join(',');
      };
      let last = await read();
      let quietSince = Date.now();
      let updates = 0;
      for (;;) {
        const waited = Date.now() - start;
        if (Date.now() - quietSince >= quietMs) return { settled: true, waitedMs: waited, updates };
        if (waited >= limitMs) return { settled: false, waitedMs: waited, updates };
        await new Promise((r) => setTimeout(r, pollMs));
        onWait?.(Date.now() - start);
        const now = await read();
        if (now !== last) { updates += 1; last = now; quietSince = Date.now(); }
      }
    },
    async before() {
      await mapLimit(sessions.filter(live), limit, async (s) => {
        await Promise.all([
          get(s, STATS_PATH, 'before', 'statsBefore', false),
          get(s, PROMETHEUS_PATH, 'before', 'prometheusBefore', false),
        ]);
      });
    },
    async after(requestIds, since, awaitIds = [], routerIds = []) {
      await mapLimit(sessions.filter(live), limit, async (s) => {
        // Counters first: closest in time to the requests.
        await Promise.all([
          get(s, STATS_PATH, 'after', 'statsAfter', false),
          get(s, PROMETHEUS_PATH, 'after', 'prometheusAfter', false),
        ]);
        await Promise.all([
          get(s, CERTS_PATH, 'after', 'certs', true),
          get(s, CLUSTERS_PATH, 'after', 'clusters', true),
          get(s, SERVER_INFO_PATH, 'after', 'serverInfo', true),
          captureConfigDump(s, timeoutMs, now),
          captureAccessLog(s, deps, { requestIds, awaitIds: s.capture.role === 'gateway' ? [...new Set([...awaitIds, ...routerIds])] : awaitIds, since, timeoutMs, waitMs: opts.logWaitMs ?? 12_000, pollMs: opts.logPollMs ?? 1000 }, now),
        ]);
      });
      return sessions.map((s) => s.capture);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(sessions.map(async (s) => {
        try { await s.admin?.close(); } catch { /* closing is best effort */ }
      }));
    },
  };
}

function live(s: Session): boolean {
  return s.capture.reachable && s.admin !== null;
}

function emptyCapture(target: ProxyTarget): ProxyCapture {
  return {
    id: target.id,
    role: target.role,
    pod: { namespace: target.namespace, name: '', ip: null },
    expectedIdentity: target.expectedIdentity,
    via: 'port-forward',
    reachable: false,
    errors: [],
    admin: {
      serverInfo: null, configDump: null, certs: null, clusters: null,
      statsBefore: null, statsAfter: null, prometheusBefore: null, prometheusAfter: null,
    },
    accessLog: [],
  };
}

async function openSession(target: ProxyTarget, deps: CollectDeps, timeoutMs: number,
  onProblem: CollectOptions['onProblem']): Promise<Session> {
  const capture = emptyCapture(target);
  const session: Session = { target, pod: null, admin: null, capture };
  const fail = (endpoint: string, message: string) => {
    capture.errors.push({ endpoint, phase: 'once', message });
    onProblem?.(target.id, message);
    return session;
  };
  let pod: FoundPod | null;
  try {
    pod = await withTimeout(deps.findPod(target), timeoutMs, `finding the ${target.id} pod`);
  } catch (err) {
    // An answer over its size limit ends the run (exit 4, naming the endpoint and the limit).
    if (err instanceof ResponseTooLargeError) throw err;
    return fail('pod', `cannot list pods ${target.selector} in ${target.namespace}: ${(err as Error).message}`);
  }
  if (!pod) return fail('pod', `no running pod matches ${target.selector} in namespace ${target.namespace}`);
  session.pod = pod;
  capture.pod = { namespace: pod.namespace, name: pod.name, ip: pod.ip };
  if (!pod.containers.includes(PROXY_CONTAINER)) {
    return fail('pod', `pod ${pod.namespace}/${pod.name} has no ${PROXY_CONTAINER} container (no sidecar): there is no proxy to read`);
  }
  try {
    session.admin = await withTimeout(deps.openAdmin(pod), timeoutMs, `opening admin port of ${pod.name}`);
  } catch (err) {
    if (err instanceof ResponseTooLargeError) throw err;
    return fail('admin', `cannot reach the admin port of ${pod.namespace}/${pod.name}: ${(err as Error).message}`);
  }
  capture.via = session.admin.via;
  capture.reachable = true;
  return session;
}

async function fetchAdmin(s: Session, path: string, phase: CaptureError['phase'], timeoutMs: number,
  now: () => Date, json: boolean): Promise<AdminText | null> {
  const admin = s.admin as AdminGetter;
  try {
    const res = await withTimeout(admin.get(path, { timeoutMs }), timeoutMs, `GET ${path}`);
    if (res.status !== 200) {
      s.capture.errors.push({ endpoint: path, phase, message: `HTTP ${res.status}: ${res.body.trim().slice(0, 160)}` });
      return null;
    }
    const body = scrubSecrets(res.body).value;
    let contentType: AdminText['contentType'] = 'text';
    if (json) {
      try {
        JSON.parse(body);
        contentType = 'json';
      } catch {
        s.capture.errors.push({ endpoint: path, phase, message: 'expected JSON, kept the answer as text' });
      }
    }
    return { request: path, contentType, body, capturedAt: now().toISOString() };
  } catch (err) {
    if (err instanceof ResponseTooLargeError) throw err;
    s.capture.errors.push({ endpoint: path, phase, message: (err as Error).message });
    return null;
  }
}

async function captureConfigDump(s: Session, timeoutMs: number, now: () => Date): Promise<void> {
  const admin = s.admin as AdminGetter;
  const result = await fetchConfigDump((path) => withTimeout(admin.get(path, { timeoutMs }), timeoutMs, `GET ${path}`), now);
  s.capture.admin.configDump = result.text;
  for (const message of result.errors) s.capture.errors.push({ endpoint: '/config_dump', phase: 'after', message });
}

interface LogRead {
  requestIds: readonly string[];
  awaitIds: readonly string[];
  since: Date;
  timeoutMs: number;
  waitMs: number;
  pollMs: number;
}

/** How long after a proxy's log shows every awaited id it is read once more (see captureAccessLog). */
const LOG_SETTLE_MS = 500;

async function captureAccessLog(s: Session, deps: CollectDeps, r: LogRead, now: () => Date): Promise<void> {
  const pod = s.pod as FoundPod;
  const deadline = now().getTime() + r.waitMs;
  let settled = false;
  for (;;) {
    // A few seconds of slack for clock skew between this machine and the node.
    const sinceSeconds = Math.max(1, Math.ceil((now().getTime() - r.since.getTime()) / 1000) + 5);
    try {
      const text = await withTimeout(deps.readLog(pod, PROXY_CONTAINER, sinceSeconds), r.timeoutMs, `reading ${PROXY_CONTAINER} log`);
      s.capture.accessLog = runLogLines(scrubSecrets(text).value, r.requestIds);
    } catch (err) {
      if (err instanceof ResponseTooLargeError) throw err;
      s.capture.errors.push({ endpoint: 'logs', phase: 'after', message: `cannot read ${PROXY_CONTAINER} log of ${pod.name}: ${(err as Error).message}` });
      return;
    }
    const missing = r.awaitIds.filter((id) => !s.capture.accessLog.some((line) => line.includes(`"${id}"`)));
    if (missing.length === 0 && !settled) {
      // One line of an id is not all of them: a sidecar logs a request's outbound stream before its
      // inbound one, and Envoy flushes its log on an interval, so the inbound line may come one
      // flush later. Read once more after a settle time.
      settled = true;
      await new Promise((resolve) => setTimeout(resolve, LOG_SETTLE_MS));
      continue;
    }
    if (missing.length === 0 || now().getTime() + r.pollMs > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, r.pollMs));
  }
}
