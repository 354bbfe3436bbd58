import { Writable } from 'node:stream';
import { Exec, type V1Status } from '@kubernetes/client-node';
import type { KubeClients } from './kube-client.js';

export interface ExecResult {
  /** Exit code from the exec Status (0 on Success); null when the API sent no status. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  status: V1Status | null;
}

function collector(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) { chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)); cb(); },
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
  command: string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
  const out = collector();
  const err = collector();
  const exec = new Exec(clients.kc);
  let settle!: (s: V1Status | null) => void;
  const statusSeen = new Promise<V1Status | null>((r) => { settle = r; });
  const ws = await exec.exec(pod.namespace, pod.name, container, command, out.stream, err.stream, null, false,
    (s) => settle(s));
  ws.on('close', () => settle(null));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
  const status = await Promise.race([statusSeen, timedOut]);
  clearTimeout(timer);
  if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
  if (status === 'timeout') {
    throw new Error(`exec ${command.join(' ')} in ${pod.namespace}/${pod.name} (${container}) did not finish within ${timeoutMs} ms`);
  }
  return { exitCode: exitCodeOf(status), stdout: out.text(), stderr: err.text(), status };
}
