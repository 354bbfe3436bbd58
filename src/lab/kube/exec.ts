import { request } from 'node:http';
import type { WebSocket } from 'ws';
import type { LabPod } from '../types.js';
import { ENVOY_ADMIN_PORT } from '../../topology/reference.js';
import { sendChannel } from './channel-protocol.js';

/** Subprotocols the exec endpoint accepts (remotecommand v4/v5 over WebSocket). */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v5.base64.channel.k8s.io', 'v4.base64.channel.k8s.io'];

const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;

export interface ExecResult { stdout: string; stderr: string; exitCode: number }

function adminGet(host: string, port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * What the lab's containers can run: `pilot-agent request GET <admin path>` in istio-proxy (the
 * way istioctl reads Envoy's admin API without a port-forward). Anything else: not found (127).
 */
export async function runCommand(pod: LabPod, container: string, command: string[]): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
  const [bin, ...args] = command;
  if (bin === 'pilot-agent' && container === 'istio-proxy' && args[0] === 'request') {
    const rest = args.slice(1).filter((a) => !a.startsWith('--'));
    const [method, path] = rest;
    if (!method || !path) return { stdout: Buffer.alloc(0), stderr: 'Error: requires at least 2 arg(s), only received ' + rest.length + '\n', exitCode: 1 };
    if (method.toUpperCase() !== 'GET') return { stdout: Buffer.alloc(0), stderr: `Error: the lab's pilot-agent only sends GET requests (got ${method})\n`, exitCode: 1 };
    const port = pod.ports[ENVOY_ADMIN_PORT];
    if (port === undefined) return { stdout: Buffer.alloc(0), stderr: 'Error: failed to reach the Envoy admin port: connection refused\n', exitCode: 1 };
    try {
      const res = await adminGet(pod.host ?? '127.0.0.1', port, '/' + path.replace(/^\/+/, ''));
      if (res.status >= 400) return { stdout: Buffer.alloc(0), stderr: `Error: received unsuccessful status code ${res.status}: ${res.body.toString('utf8')}\n`, exitCode: 1 };
      return { stdout: res.body, stderr: '', exitCode: 0 };
    } catch (err) {
      return { stdout: Buffer.alloc(0), stderr: `Error: ${(err as Error).message}\n`, exitCode: 1 };
    }
  }
  return { stdout: Buffer.alloc(0), stderr: `exec: "${bin ?? ''}": executable file not found in $PATH\n`, exitCode: 127 };
}

/**
 * Serve one exec WebSocket: stdout/stderr channels (only those the request asked for, like the
 * API server), then a Status on the error channel.
 */
export function serveExec(ws: WebSocket, protocol: string, pod: LabPod, container: string, command: string[], streams: { stdout: boolean; stderr: boolean } = { stdout: true, stderr: true }): void {
  ws.on('error', () => undefined);
  void runCommand(pod, container, command).then((r) => {
    if (streams.stdout && r.stdout.length > 0) {
      for (let off = 0; off < r.stdout.length; off += 64 * 1024) sendChannel(ws, protocol, STDOUT, r.stdout.subarray(off, off + 64 * 1024));
    }
    if (streams.stderr && r.stderr) sendChannel(ws, protocol, STDERR, r.stderr);
    const status = r.exitCode === 0
      ? { metadata: {}, status: 'Success' }
      : {
        metadata: {}, status: 'Failure', reason: 'NonZeroExitCode',
        message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${r.exitCode}`,
        details: { causes: [{ reason: 'ExitCode', message: String(r.exitCode) }] },
      };
    sendChannel(ws, protocol, ERROR, JSON.stringify(status));
    if (ws.readyState === ws.OPEN) ws.close(1000);
  });
}
