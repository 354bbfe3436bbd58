import { Writable } from 'node:stream';
import { Log } from '@kubernetes/client-node';
import { EnvironmentError } from '../cli/errors.js';
import type { KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';

export interface PodLogOptions {
  sinceSeconds?: number;
  tailLines?: number;
  /** Bound for the whole read (default 30 s). */
  timeoutMs?: number;
}

/**
 * The log of one container of a pod, as text (not followed). Uses client-node's Log (a streamed
 * GET .../log), which gives the same bytes as `kubectl logs`.
 */
export async function readPodLog(clients: KubeClients, namespace: string, pod: string, container: string,
  opts: PodLogOptions = {}): Promise<string> {
  const chunks: Buffer[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((r) => { finish = r; });
  const sink = new Writable({
    write(chunk: Buffer | string, _e, cb) { chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)); cb(); },
    final(cb) { finish(); cb(); },
  });
  let controller: AbortController;
  try {
    controller = await new Log(clients.kc).log(namespace, pod, container, sink, {
      follow: false,
      ...(opts.sinceSeconds !== undefined ? { sinceSeconds: opts.sinceSeconds } : {}),
      ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
    });
  } catch (err) {
    const code = apiErrorCode(err) ?? statusFromMessage(err);
    const what = `log of ${namespace}/${pod} container ${container}`;
    if (code === 403) throw new EnvironmentError(`not allowed to read the ${what}`, 'grant get on pods/log to this context', { cause: err });
    throw new EnvironmentError(`reading the ${what} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
  }
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    finished.then(() => false),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    controller.abort();
    throw new EnvironmentError(`reading the log of ${namespace}/${pod} container ${container} did not finish within ${timeoutMs} ms`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function statusFromMessage(err: unknown): number | null {
  const m = /\b(4\d\d|5\d\d)\b/.exec((err as Error)?.message ?? '');
  return m ? Number(m[1]) : null;
}
