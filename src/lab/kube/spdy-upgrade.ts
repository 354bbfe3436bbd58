import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { LabPod } from '../types.js';
import { serveSpdyPortForward, SPDY_PORT_FORWARD_PROTOCOL, SPDY_TUNNEL_PORT_FORWARD_PROTOCOL } from './spdy-port-forward.js';

/**
 * The two ways kubectl port-forward reaches kubelet's SPDY server through the API server:
 * an HTTP upgrade to SPDY/3.1 (kubectl <= 1.30, and the fallback of later ones), or SPDY
 * tunnelled in WebSocket binary messages under the subprotocol "SPDY/3.1+portforward.k8s.io"
 * (kubectl >= 1.31). Both end in serveSpdyPortForward.
 */

/** The Upgrade header asks for SPDY/3.1. */
export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase().split(',').some((u) => u.trim() === 'spdy/3.1');
}

/** X-Stream-Protocol-Version values the client offered (the header may repeat). */
function offeredStreamProtocols(req: IncomingMessage): string[] {
  const raw = req.headersDistinct['x-stream-protocol-version'] ?? [];
  return raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

/**
 * Answer a SPDY/3.1 upgrade for port-forward: 101 with the negotiated stream protocol, then a
 * SPDY session on the raw connection. Returns an error message (for a 400) when the client
 * offers no protocol this server speaks, as httpstream.Handshake does.
 */
export function acceptSpdyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, pod: LabPod): string | null {
  const offered = offeredStreamProtocols(req);
  if (!offered.includes(SPDY_PORT_FORWARD_PROTOCOL)) {
    return `unable to upgrade connection: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${SPDY_PORT_FORWARD_PROTOCOL}]`;
  }
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n'
    + `X-Stream-Protocol-Version: ${SPDY_PORT_FORWARD_PROTOCOL}\r\n\r\n`);
  const session = serveSpdyPortForward({ write: (b) => { if (!socket.destroyed) socket.write(b); }, close: () => socket.end() }, pod);
  socket.on('data', (chunk: Buffer) => session.receive(chunk));
  socket.on('close', () => session.close());
  socket.on('error', () => session.close());
  if (head.length > 0) session.receive(head);
  return null;
}

/**
 * The ws library rejects subprotocols that are not RFC 7230 tokens, and "SPDY/3.1+..." has a
 * '/': the request offers it under this token instead (aliasSpdyTunnel), and the 101 answer names
 * it as the client asked (restoreSpdyTunnel, on the server's 'headers' event).
 */
export const SPDY_TUNNEL_ALIAS = 'spdy-3.1.portforward.k8s.io';

/** Rewrite an offered "SPDY/3.1+portforward.k8s.io" to SPDY_TUNNEL_ALIAS (before the ws handshake). */
export function aliasSpdyTunnel(req: IncomingMessage): void {
  const raw = req.headers['sec-websocket-protocol'];
  if (typeof raw !== 'string') return;
  const offered = raw.split(',').map((p) => p.trim());
  if (offered.includes(SPDY_TUNNEL_PORT_FORWARD_PROTOCOL)) {
    req.headers['sec-websocket-protocol'] = offered.map((p) => (p === SPDY_TUNNEL_PORT_FORWARD_PROTOCOL ? SPDY_TUNNEL_ALIAS : p)).join(', ');
  }
}

/** Name the tunnel protocol as the client offered it in the 101 answer's headers. */
export function restoreSpdyTunnel(headers: string[]): void {
  const i = headers.indexOf(`Sec-WebSocket-Protocol: ${SPDY_TUNNEL_ALIAS}`);
  if (i >= 0) headers[i] = `Sec-WebSocket-Protocol: ${SPDY_TUNNEL_PORT_FORWARD_PROTOCOL}`;
}

/** SPDY tunnelled in a WebSocket: every binary message carries bytes of the SPDY stream. */
export function serveSpdyOverWebSocket(ws: WebSocket, pod: LabPod): void {
  const session = serveSpdyPortForward({ write: (b) => { if (ws.readyState === ws.OPEN) ws.send(b); }, close: () => ws.close(1000) }, pod);
  ws.on('message', (data: Buffer, isBinary: boolean) => { if (isBinary) session.receive(data); });
  ws.on('close', () => session.close());
  ws.on('error', () => session.close());
}
