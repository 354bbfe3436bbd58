import { Duplex } from 'node:stream';
import https from 'node:https';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { apiUrl, type KubeClients } from './kube-client.js';

/**
 * A Kubernetes port-forward WebSocket as a socket-like Duplex that an HTTP client can speak over
 * directly (no local listening port). The channel protocol is spoken here rather than through
 * client-node's PortForward, whose stream plumbing (a PassThrough in, event-target messages and
 * a copy per frame out) costs about as much CPU as the TLS handshake when an audit opens one
 * stream per pod.
 */

/** HTTP status of a failed WebSocket upgrade ("Unexpected server response: 403"), or null. */
export function upgradeStatus(err: unknown): number | null {
  const m = /Unexpected server response: (\d{3})/.exec(String((err as Error)?.message ?? err));
  return m ? Number(m[1]) : null;
}

type Pod = { namespace: string; name: string };

/** What client-node offers too: the API server (kubelet) picks one of the channel protocols. */
const CHANNEL_PROTOCOLS_OFFERED = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

const sharedAgentConfigs = new WeakMap<KubeConfig, KubeConfig>();

/**
 * The kubeconfig with one HTTPS agent (one TLS context and session cache) for every port-forward
 * stream: a new agent per WebSocket would build a TLS context and do a full handshake each time.
 * Proxy agents (proxy-url) are left as they are.
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

/** The WebSocket URL of `pods/<name>/portforward?ports=<port>` on the cluster's server URL. */
export function portForwardUrl(server: string, pod: Pod, port: number): string {
  const url = apiUrl(server, `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}/portforward?ports=${port}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
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
    // Not half-open: when the stream ends (the API server or the pod closed it), the socket
    // closes too, so a request still waiting on it fails now instead of at its deadline.
    super({ allowHalfOpen: false });
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
 * Channel 0 carries the data, channel 1 errors (text); the first two bytes on each are the port.
 */
export async function openForwardedSocket(clients: KubeClients, pod: Pod, port: number, timeoutMs: number,
  onError: (text: string) => void): Promise<ForwardedSocket> {
  const cluster = clients.kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const opts: https.RequestOptions = {};
  await withSharedAgent(clients.kc).applyToHTTPSOptions(opts);
  const ws = new WebSocket(portForwardUrl(cluster.server, pod, port), CHANNEL_PROTOCOLS_OFFERED, { ...(opts as WebSocket.ClientOptions), perMessageDeflate: false });
  const socket = new ForwardedSocket((chunk) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const frame = Buffer.allocUnsafe(chunk.length + 1);
    frame[0] = 0;
    chunk.copy(frame, 1);
    ws.send(frame);
  }, () => { if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(); });
  const portPrefixPending = [true, true];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length < 1) return;
    const channel = data[0];
    if (channel > 1) return;
    let payload = data.subarray(1);
    if (portPrefixPending[channel]) {
      portPrefixPending[channel] = false;
      payload = payload.subarray(2);
    }
    if (payload.length === 0) return;
    if (channel === 0) socket.receive(payload);
    else {
      const text = payload.toString('utf8').trim();
      if (!text) return;
      onError(text);
      // The kubelet writes on the error channel once the forward is over (kubelet's
      // cri/streaming/portforward: the dial or the copy failed): no more data will come, whether
      // or not the API server closes the stream now (through kwok it can stay open for seconds).
      socket.push(null);
    }
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', () => reject(new Error('the API server closed the port-forward stream before it opened')));
    });
  } catch (err) {
    ws.removeAllListeners('open');
    ws.on('error', () => undefined);
    if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    socket.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  ws.removeAllListeners('error');
  ws.removeAllListeners('close');
  ws.on('close', () => socket.push(null));
  ws.on('error', (e: Error) => { onError(e.message); socket.destroy(e); });
  if (socket.destroyed) ws.close();
  return socket;
}
