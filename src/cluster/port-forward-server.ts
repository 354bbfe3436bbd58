import net from 'node:net';
import { Writable } from 'node:stream';
import https from 'node:https';
import tls from 'node:tls';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
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
  /**
   * Open a local connection and wait until its port-forward stream is open: rejects (with
   * upgradeStatus() readable from the error) when the API server refuses the stream, e.g. 403
   * without `create pods/portforward`. The socket is then ready to carry requests.
   */
  connect(timeoutMs: number): Promise<net.Socket>;
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

const sharedAgentConfigs = new WeakMap<KubeConfig, KubeConfig>();

/**
 * The kubeconfig with one HTTPS agent (one TLS context and session cache) for every port-forward
 * stream: client-node makes a new agent per WebSocket, so each stream would build a TLS context
 * and do a full handshake. Proxy agents (proxy-url) are left as they are.
 */
function withSharedAgent(kc: KubeConfig): KubeConfig {
  const known = sharedAgentConfigs.get(kc);
  if (known) return known;
  let agent: https.Agent | null = null;
  const wrapped = Object.create(kc) as KubeConfig;
  wrapped.applyToHTTPSOptions = async (opts) => {
    await kc.applyToHTTPSOptions(opts);
    const fresh = (opts as { agent?: unknown }).agent;
    if (!(fresh instanceof https.Agent) || fresh.constructor !== https.Agent) return;
    if (!agent) {
      const o = fresh.options;
      agent = new https.Agent({ ...o, secureContext: tls.createSecureContext({ ca: o.ca, cert: o.cert, key: o.key, pfx: o.pfx, passphrase: o.passphrase }) });
    }
    fresh.destroy();
    (opts as { agent?: unknown }).agent = agent;
  };
  sharedAgentConfigs.set(kc, wrapped);
  return wrapped;
}

async function openForward(clients: KubeClients, pod: Pod, port: number, output: Writable, err: Writable,
  input: NodeJS.ReadableStream): Promise<WebSocket> {
  const pf = new PortForward(withSharedAgent(clients.kc), true);
  return (await pf.portForward(pod.namespace, pod.name, [port], output, err, input as never, 0)) as unknown as WebSocket;
}

export async function startPortForwardServer(clients: KubeClients, pod: Pod, port: number): Promise<PortForwardServer> {
  let lastError: string | null = null;
  const open = new Set<{ socket: net.Socket; ws: WebSocket | null }>();
  /** Stream-open outcome per local client port, for connect(). */
  const opened = new Map<number, Promise<void>>();
  const server = net.createServer((socket) => {
    const entry: { socket: net.Socket; ws: WebSocket | null } = { socket, ws: null };
    open.add(entry);
    const clientPort = socket.remotePort ?? 0;
    socket.on('error', () => { /* reported to the HTTP client as a reset */ });
    socket.on('close', () => { open.delete(entry); entry.ws?.close(); setImmediate(() => opened.delete(clientPort)); });
    const err = textSink((t) => { lastError = t; });
    const ready = openForward(clients, pod, port, socket, err, socket).then((ws) => {
      entry.ws = ws;
      if (socket.destroyed) { ws.close(); return; }
      ws.on('close', () => socket.end());
      ws.on('error', (e: Error) => { lastError = e.message; socket.destroy(); });
    }, (e: unknown) => {
      lastError = (e as Error)?.message ?? String(e);
      socket.destroy();
      throw e;
    });
    ready.catch(() => undefined);
    opened.set(clientPort, ready);
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
    async connect(timeoutMs) {
      const socket = net.connect(address.port, '127.0.0.1');
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); }),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
        ]);
        const local = socket.localPort ?? 0;
        // The server side sees the connection at about the same time: wait for it to register.
        const deadline = Date.now() + timeoutMs;
        while (!opened.has(local)) {
          if (socket.destroyed || Date.now() > deadline) throw new Error(lastError ?? 'the port-forward connection closed before its stream opened');
          await new Promise((r) => setImmediate(r));
        }
        await Promise.race([
          opened.get(local)!,
          new Promise<never>((_, reject) => { clearTimeout(timer); timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
        ]);
        return socket;
      } catch (err) {
        socket.destroy();
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => new Promise<void>((resolve) => {
      for (const e of open) { e.ws?.close(); e.socket.destroy(); }
      server.close(() => resolve());
    }),
  };
}
