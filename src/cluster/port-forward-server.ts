import net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { PortForward } from '@kubernetes/client-node';
import type WebSocket from 'ws';
import type { KubeClients } from './kube-client.js';

/**
 * client-node's PortForward gives streams, not a local port: this puts it behind a local
 * `net.Server` on 127.0.0.1:0, one port-forward WebSocket per accepted TCP connection.
 */
export interface PortForwardServer {
  host: '127.0.0.1';
  port: number;
  /** The last error the API server or kubelet reported for a connection (e.g. connection refused). */
  lastError(): string | null;
  close(): Promise<void>;
}

/** HTTP status of a failed WebSocket upgrade ("Unexpected server response: 403"), or null. */
export function upgradeStatus(err: unknown): number | null {
  const m = /Unexpected server response: (\d{3})/.exec(String((err as Error)?.message ?? err));
  return m ? Number(m[1]) : null;
}

function textSink(onText: (t: string) => void): Writable {
  return new Writable({ write(chunk: Buffer, _e, cb) { const t = chunk.toString('utf8').trim(); if (t) onText(t); cb(); } });
}

type Pod = { namespace: string; name: string };

async function openForward(clients: KubeClients, pod: Pod, port: number, output: Writable, err: Writable,
  input: NodeJS.ReadableStream): Promise<WebSocket> {
  const pf = new PortForward(clients.kc, true);
  return (await pf.portForward(pod.namespace, pod.name, [port], output, err, input as never, 0)) as unknown as WebSocket;
}

/**
 * Open and close one port-forward stream: throws (with upgradeStatus() readable from the error)
 * when the API server refuses it, e.g. 403 without `create pods/portforward`.
 */
export async function probePortForward(clients: KubeClients, pod: Pod, port: number, timeoutMs = 10_000): Promise<void> {
  const input = new PassThrough();
  let timer: NodeJS.Timeout | undefined;
  const ws = await Promise.race([
    openForward(clients, pod, port, new PassThrough().resume(), textSink(() => {}), input),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
  ]).finally(() => clearTimeout(timer));
  ws.close();
}

export async function startPortForwardServer(clients: KubeClients, pod: Pod, port: number): Promise<PortForwardServer> {
  let lastError: string | null = null;
  const open = new Set<{ socket: net.Socket; ws: WebSocket | null }>();
  const server = net.createServer((socket) => {
    const entry: { socket: net.Socket; ws: WebSocket | null } = { socket, ws: null };
    open.add(entry);
    socket.on('error', () => { /* reported to the HTTP client as a reset */ });
    socket.on('close', () => { open.delete(entry); entry.ws?.close(); });
    const err = textSink((t) => { lastError = t; });
    openForward(clients, pod, port, socket, err, socket).then((ws) => {
      entry.ws = ws;
      if (socket.destroyed) { ws.close(); return; }
      ws.on('close', () => socket.end());
      ws.on('error', (e: Error) => { lastError = e.message; socket.destroy(); });
    }, (e: unknown) => {
      lastError = (e as Error)?.message ?? String(e);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const address = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port: address.port,
    lastError: () => lastError,
    close: () => new Promise<void>((resolve) => {
      for (const e of open) { e.ws?.close(); e.socket.destroy(); }
      server.close(() => resolve());
    }),
  };
}
