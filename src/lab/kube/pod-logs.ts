import type { ServerResponse } from 'node:http';
import type { LabPod } from '../types.js';
import type { KubeObject } from './object-store.js';
import { Status } from './status.js';

export interface LogQuery {
  container?: string;
  tailLines?: number;
  sinceSeconds?: number;
  limitBytes?: number;
  timestamps: boolean;
  follow: boolean;
  previous: boolean;
}

export function parseLogQuery(q: URLSearchParams): LogQuery {
  const num = (k: string) => {
    const v = q.get(k);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw Status.badRequest(`invalid ${k}: ${v}`);
    return n;
  };
  const flag = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
  return {
    container: q.get('container') || undefined, tailLines: num('tailLines'), sinceSeconds: num('sinceSeconds'), limitBytes: num('limitBytes'),
    timestamps: flag('timestamps'), follow: flag('follow'), previous: flag('previous'),
  };
}

/**
 * The container whose log is asked for, checked the way the API server does (kubernetes
 * pkg/registry/core/pod/strategy.go, validateContainer and podHasContainerWithName): any container,
 * init container (native sidecars are init containers) or ephemeral container by name; without
 * a name, the only container of `containers`.
 */
export function logContainer(pod: KubeObject, wanted: string | undefined): string {
  const spec = (pod.spec ?? {}) as Record<'containers' | 'initContainers' | 'ephemeralContainers', { name: string }[] | undefined>;
  const names = (spec.containers ?? []).map((c) => c.name);
  if (wanted) {
    const all = [...names, ...(spec.initContainers ?? []).map((c) => c.name), ...(spec.ephemeralContainers ?? []).map((c) => c.name)];
    if (!all.includes(wanted)) throw Status.badRequest(`container ${wanted} is not valid for pod ${pod.metadata.name}`);
    return wanted;
  }
  if (names.length === 1) return names[0];
  throw Status.badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`);
}

/** A timestamp a log line carries (leading RFC 3339, or Envoy's JSON `start_time`), if any. */
function lineTime(line: string): number | undefined {
  const lead = /^(\d{4}-\d\d-\d\dT[0-9:.]+Z)/.exec(line);
  if (lead) return Date.parse(lead[1]);
  const m = /"(?:start_time|timestamp|time)"\s*:\s*"([^"]+)"/.exec(line);
  const t = m ? Date.parse(m[1]) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

function select(lines: string[], q: LogQuery, now: number): string[] {
  let out = lines;
  if (q.sinceSeconds !== undefined) {
    const cutoff = now - q.sinceSeconds * 1000;
    out = out.filter((l) => { const t = lineTime(l); return t === undefined || t >= cutoff; });
  }
  if (q.tailLines !== undefined) out = q.tailLines === 0 ? [] : out.slice(-q.tailLines);
  return out;
}

function render(lines: string[], q: LogQuery): string {
  return lines.map((l) => (q.timestamps ? `${new Date(lineTime(l) ?? Date.now()).toISOString()} ${l}\n` : `${l}\n`)).join('');
}

/**
 * Serve a pod's log (text/plain) from LabPod.logs(container). With follow=true the response
 * stays open and new lines are written as they appear, until the client leaves or `stop()`.
 */
export function servePodLog(res: ServerResponse, labPod: LabPod | undefined, container: string, q: LogQuery): () => void {
  if (q.previous) throw Status.badRequest(`previous terminated container "${container}" in pod "${labPod?.name ?? ''}" not found`);
  const read = () => (labPod ? labPod.logs(container) : []);
  const initial = read();
  let text = render(select(initial, q, Date.now()), q);
  if (q.limitBytes !== undefined) text = Buffer.from(text).subarray(0, q.limitBytes).toString('utf8');
  res.writeHead(200, { 'Content-Type': 'text/plain', ...(q.follow ? { 'Transfer-Encoding': 'chunked' } : {}) });
  if (!q.follow) { res.end(text); return () => undefined; }
  res.write(text);
  let delivered = initial.length;
  const timer = setInterval(() => {
    const lines = read();
    if (lines.length < delivered) delivered = lines.length; // ring buffer rotated
    if (lines.length > delivered) { res.write(render(lines.slice(delivered), q)); delivered = lines.length; }
  }, 200);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    if (!res.writableEnded) res.end();
  };
  res.on('close', end);
  return end;
}
