import { EnvironmentError } from '../core/errors.js';
import type { KubeClients } from './kube-client.js';
import { apiRequest } from './kube-client.js';
import { limit } from './limits.js';

export interface PodLogOptions {
  sinceSeconds?: number;
  tailLines?: number;
  /** Bound for the whole read (default 30 s). */
  timeoutMs?: number;
}

/**
 * The log of one container of a pod, as text (not followed): GET .../pods/NAME/log, the bytes
 * `kubectl logs` prints. Bounded like every API request (connect, headers, whole body) and by
 * LOG_MAX_BYTES (src/cluster/limits.ts): a larger log fails with exit 4 naming the limit.
 */
export async function readPodLog(clients: KubeClients, namespace: string, pod: string, container: string,
  opts: PodLogOptions = {}): Promise<string> {
  const query = new URLSearchParams({ container });
  if (opts.sinceSeconds !== undefined) query.set('sinceSeconds', String(opts.sinceSeconds));
  if (opts.tailLines !== undefined) query.set('tailLines', String(opts.tailLines));
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${query.toString()}`;
  const what = `log of ${namespace}/${pod} container ${container}`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let res;
  try {
    res = await apiRequest(clients.kc, 'GET', path, { timeoutMs, maxBytes: limit('LOG_MAX_BYTES'), maxBytesLimit: 'LOG_MAX_BYTES' });
  } catch (err) {
    if (err instanceof EnvironmentError) throw err;
    throw new EnvironmentError(`reading the ${what} failed: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (res.status === 403) throw new EnvironmentError(`not allowed to read the ${what}`, 'grant get on pods/log to this context');
  if (res.status !== 200) {
    throw new EnvironmentError(`reading the ${what} failed: HTTP ${res.status}${statusMessage(res.body)}`);
  }
  return res.body;
}

/** `: <message>` of a Kubernetes Status body, else nothing. */
function statusMessage(body: string): string {
  try {
    const msg = (JSON.parse(body) as { message?: unknown }).message;
    return typeof msg === 'string' && msg ? `: ${msg.split('\n')[0].slice(0, 200)}` : '';
  } catch {
    return '';
  }
}
