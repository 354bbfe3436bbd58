import type { WebSocket } from 'ws';

/**
 * Kubernetes' WebSocket channel protocol (k8s.io/apiserver/pkg/util/wsstream): every message
 * starts with one byte naming the channel; the base64 variants send text `'0'+channel` + base64.
 */

export function pickProtocol(offered: Set<string>, supported: string[]): string | undefined {
  return supported.find((p) => offered.has(p));
}

export function isBase64Protocol(protocol: string): boolean {
  return protocol.includes('base64');
}

export function sendChannel(ws: WebSocket, protocol: string, channel: number, data: Buffer | string): void {
  if (ws.readyState !== ws.OPEN) return;
  if (isBase64Protocol(protocol)) {
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    ws.send(String.fromCharCode(48 + channel) + body.toString('base64'));
    return;
  }
  // One buffer: the channel byte, then the payload (no intermediate copies).
  const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  const frame = Buffer.allocUnsafe(1 + length);
  frame[0] = channel;
  if (typeof data === 'string') frame.write(data, 1);
  else data.copy(frame, 1);
  ws.send(frame);
}

/** Decode one incoming message into its channel and payload. */
export function readChannel(protocol: string, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): { channel: number; payload: Buffer } | null {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (buf.length === 0) return null;
  if (isBase64Protocol(protocol) && !isBinary) {
    const text = buf.toString('utf8');
    return { channel: text.charCodeAt(0) - 48, payload: Buffer.from(text.slice(1), 'base64') };
  }
  return { channel: buf[0], payload: buf.subarray(1) };
}
