import { Writable } from 'node:stream';
import { Exec, type V1Status } from '@kubernetes/client-node';
import type { KubeClients } from './kube-client.js';
import { ResponseTooLargeError } from './bounded-http.js';
import { limit } from './limits.js';

export interface ExecResult {
  /** Exit code from the exec Status (0 on Success); null when the API sent no status. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  status: V1Status | null;
}

/** The output of one stream, up to `maxBytes`; `onOverflow` once when it passes that. */
function collector(maxBytes: number, onOverflow: () => void): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  let overflowed = false;
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += b.length;
      if (size > maxBytes) {
        if (!overflowed) { overflowed = true; onOverflow(); }
      } else chunks.push(b);
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Exit code of an exec Status: 0 for Success, the ExitCode cause for NonZeroExitCode. */
export function exitCodeOf(status: V1Status | null): number | null {
  if (!status) return null;
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const n = cause?.message !== undefined ? Number(cause.message) : NaN;
  return Number.isInteger(n) ? n : 1;
}

/**
 * Run a command in a pod's container (no stdin, no TTY) and collect its output. The exit code
 * arrives only through the exec Status callback; a bounded wait ends a command that never returns.
 */
export async function execInPod(clients: KubeClients, pod: { namespace: string; name: string }, container: string,
  command: string[], opts: { timeoutMs?: number; maxBytes?: number } = {}): Promise<ExecResult> {
  const where = `${pod.namespace}/${pod.name} (${container})`;
  const what = `exec ${command.join(' ')}`;
  const maxBytes = opts.maxBytes ?? limit('ADMIN_RESPONSE_MAX_BYTES');
  let settle!: (s: V1Status | null | 'timeout' | 'too-large') => void;
  const outcome = new Promise<V1Status | null | 'timeout' | 'too-large'>((r) => { settle = r; });
  const out = collector(maxBytes, () => settle('too-large'));
  const err = collector(maxBytes, () => settle('too-large'));
  // One deadline for all of it, the WebSocket upgrade included (ref'd: it keeps the process alive).
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const timer = setTimeout(() => settle('timeout'), timeoutMs);
  const exec = new Exec(clients.kc);
  const opened = exec.exec(pod.namespace, pod.name, container, command, out.stream, err.stream, null, false, (s) => settle(s));
  const closeWs = (w: Awaited<typeof opened>) => { if (w.readyState === w.OPEN || w.readyState === w.CONNECTING) w.close(); };
  opened.then((w) => { w.on('close', () => settle(null)); }, () => undefined);
  let status;
  try {
    status = await Promise.race([outcome, opened.then(() => outcome)]);
  } finally {
    clearTimeout(timer);
    // A WebSocket that opens after the deadline is closed as soon as it opens.
    opened.then(closeWs, () => undefined);
  }
  if (status === 'timeout') {
    throw new Error(`${what} in ${where} did not finish within ${timeoutMs} ms`);
  }
  if (status === 'too-large') {
    throw new ResponseTooLargeError(what, `pod ${where}`, maxBytes, 'ADMIN_RESPONSE_MAX_BYTES');
  }
  return { exitCode: exitCodeOf(status), stdout: out.text(), stderr: err.text(), status };
}
