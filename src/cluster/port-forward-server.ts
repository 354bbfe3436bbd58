import { Duplex, PassThrough, Writable } from 'node:stream';
import https from 'node:https';
import tls from 'node:tls';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
import type WebSocket from 'ws';
import type { KubeClients } from './kube-client.js';

/**
 * client-node's PortForward gives streams, not a local port: this wraps one port-forward
 * WebSocket as a socket-like Duplex that an HTTP client can speak over directly.
 */

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

/**
 * A port-forward stream as a socket-like Duplex for an HTTP client (no local listening port, no
 * loopback TCP hop): what is written goes to the pod's port, what the pod sends is read. Carries
 * the few net.Socket methods http.Agent and ClientRequest call.
 */
export class ForwardedSocket extends Duplex {
  private idleTimer: NodeJS.Timeout | undefined;
  private idleMs = 0;

  constructor(private readonly send: (chunk: Buffer) => void, private readonly release: () => void) {
    super();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.touch();
    this.send(chunk);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    this.release();
    callback(error);
  }

  /** Data from the pod. */
  receive(chunk: Buffer): void {
    this.touch();
    this.push(chunk);
  }

  /** As net.Socket: 0 disables the idle timeout and removes `onTimeout` (the HTTP client relies on it). */
  setTimeout(ms: number, onTimeout?: () => void): this {
    this.idleMs = ms;
    if (onTimeout) {
      if (ms === 0) this.removeListener('timeout', onTimeout);
      else this.once('timeout', onTimeout);
    }
    this.touch();
    return this;
  }

  setKeepAlive(): this { return this; }
  setNoDelay(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }

  private touch(): void {
    clearTimeout(this.idleTimer);
    if (this.idleMs > 0 && !this.destroyed) this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
  }
}

/**
 * Open one port-forward stream to `pod:port` and resolve once the API server accepted it (rejects,
 * e.g. 403 without `create pods/portforward`, with upgradeStatus() readable from the error).
 */
export async function openForwardedSocket(clients: KubeClients, pod: Pod, port: number, timeoutMs: number,
  onError: (text: string) => void): Promise<ForwardedSocket> {
  const input = new PassThrough();
  let ws: WebSocket | null = null;
  const socket = new ForwardedSocket((chunk) => input.write(chunk), () => { input.end(); ws?.close(); });
  const output = new Writable({ write(chunk: Buffer, _e, cb) { socket.receive(chunk); cb(); } });
  let timer: NodeJS.Timeout | undefined;
  const opening = openForward(clients, pod, port, output, textSink(onError), input);
  try {
    ws = await Promise.race([
      opening,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
    ]);
  } catch (err) {
    socket.destroy();
    opening.then((late) => late.close(), () => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  ws.on('close', () => socket.push(null));
  ws.on('error', (e: Error) => { onError(e.message); socket.destroy(e); });
  if (socket.destroyed) ws.close();
  return socket;
}
