import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { LabPod } from '../types.js';
import { readChannel, sendChannel } from './channel-protocol.js';

/** Subprotocols the port-forward endpoint accepts over WebSocket (kubelet: v4 binary/base64). */
export const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'portforward.k8s.io'];

/** A connection to a lab pod's port (in process when the pod offers it, else TCP), or null when nothing listens there. */
export function dialPodPort(pod: LabPod, port: number): Duplex | null {
  const target = pod.ports[port];
  if (target === undefined) return null;
  return pod.connect?.(port) ?? connect({ host: pod.host ?? '127.0.0.1', port: target });
}

/** kubelet's words when nothing listens on the port in the pod. */
export function refusedPortMessage(pod: LabPod, port: number): string {
  return `error forwarding port ${port} to pod ${pod.name}, uid : failed to execute portforward in network namespace: failed to connect to localhost:${port} inside namespace: connection refused`;
}

/** kubelet's words when the connection to the pod's port fails later. */
export function forwardErrorMessage(pod: LabPod, port: number, err: Error): string {
  return `error forwarding port ${port} to pod ${pod.name}: ${err.message}`;
}

function portBytes(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port, 0);
  return b;
}

/**
 * Serve one port-forward WebSocket: per requested port i, channel 2i carries data and 2i+1
 * errors; the first frame on each carries the port (uint16 little-endian). Data reaches
 * LabPod.ports[port] on 127.0.0.1, in process when the pod offers that (LabPod.connect).
 */
export function servePortForward(ws: WebSocket, protocol: string, pod: LabPod, ports: number[]): void {
  const sockets: (Duplex | null)[] = [];
  let open = ports.length;
  const closeOne = () => {
    open -= 1;
    if (open <= 0 && ws.readyState === ws.OPEN) ws.close(1000);
  };
  ports.forEach((port, i) => {
    sendChannel(ws, protocol, 2 * i, portBytes(port));
    sendChannel(ws, protocol, 2 * i + 1, portBytes(port));
    const sock = dialPodPort(pod, port);
    if (!sock) {
      sendChannel(ws, protocol, 2 * i + 1, refusedPortMessage(pod, port));
      sockets.push(null);
      closeOne();
      return;
    }
    sockets.push(sock);
    sock.on('data', (chunk: Buffer) => sendChannel(ws, protocol, 2 * i, chunk));
    sock.on('error', (err) => sendChannel(ws, protocol, 2 * i + 1, forwardErrorMessage(pod, port, err)));
    sock.on('close', closeOne);
  });
  ws.on('message', (data, isBinary) => {
    const msg = readChannel(protocol, data as Buffer, isBinary);
    if (!msg || msg.channel % 2 !== 0) return;
    const sock = sockets[msg.channel / 2];
    if (sock && !sock.destroyed && msg.payload.length > 0) sock.write(msg.payload);
  });
  ws.on('close', () => { for (const s of sockets) s?.destroy(); });
  ws.on('error', () => { for (const s of sockets) s?.destroy(); });
}
