import type { Duplex } from 'node:stream';
import type { LabPod } from '../types.js';
import { dialPodPort, forwardErrorMessage, refusedPortMessage } from './port-forward.js';
import {
  dataFrame, FLAG_FIN, GOAWAY, goawayFrame, PING, pingFrame, RST_PROTOCOL_ERROR, RST_STREAM, rstStreamFrame,
  SpdyFrameReader, SpdyHeaderCodec, SYN_STREAM, type SpdyFrame,
} from './spdy-framing.js';

/** The SPDY sub-protocol of port-forward (X-Stream-Protocol-Version, or after "SPDY/3.1+" in a WebSocket). */
export const SPDY_PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** WebSocket subprotocol of SPDY tunnelled in a WebSocket (kubectl >= 1.31 tries it first). */
export const SPDY_TUNNEL_PORT_FORWARD_PROTOCOL = `SPDY/3.1+${SPDY_PORT_FORWARD_PROTOCOL}`;

/** The byte pipe the SPDY session runs over (an upgraded TLS socket, or a WebSocket tunnel). */
export interface SpdyPipe {
  write(bytes: Buffer): void;
  close(): void;
}

interface Pair {
  error?: number;
  data?: number;
  port?: number;
  socket?: Duplex;
}

/**
 * kubelet's SPDY port-forward server (pkg/kubelet/cri/streaming/portforward/httpstream.go): the
 * client opens an error stream and a data stream per connection, both naming `port` and a
 * `requestID`; every stream is answered with SYN_REPLY; once both are there the pod port is
 * dialled and bytes are relayed on the data stream; a failure is written as text on the error
 * stream. RST_STREAM from the client drops the pod connection. PINGs are echoed.
 */
export function serveSpdyPortForward(pipe: SpdyPipe, pod: LabPod): { receive(chunk: Buffer): void; close(): void; settled(): Promise<void> } {
  const reader = new SpdyFrameReader();
  const codec = new SpdyHeaderCodec();
  const pairs = new Map<string, Pair>();
  const byStream = new Map<number, string>();
  let lastStream = 0;
  let closed = false;

  const send = (bytes: Buffer) => { if (!closed) pipe.write(bytes); };
  const finish = (pair: Pair, key: string) => {
    if (pair.error !== undefined) byStream.delete(pair.error);
    if (pair.data !== undefined) byStream.delete(pair.data);
    pairs.delete(key);
  };
  const fail = (pair: Pair, key: string, message: string) => {
    if (pair.error !== undefined) send(dataFrame(pair.error, Buffer.from(message), true));
    if (pair.data !== undefined) send(dataFrame(pair.data, Buffer.alloc(0), true));
    finish(pair, key);
  };

  const start = (pair: Pair, key: string) => {
    const port = pair.port;
    if (port === undefined || !Number.isInteger(port) || port <= 0 || port > 65535) {
      fail(pair, key, `invalid port: ${String(port)}`);
      return;
    }
    const socket = dialPodPort(pod, port);
    if (!socket) {
      fail(pair, key, refusedPortMessage(pod, port));
      return;
    }
    pair.socket = socket;
    socket.on('data', (chunk: Buffer) => send(dataFrame(pair.data!, chunk)));
    socket.on('error', (err: Error) => {
      if (pair.error !== undefined && pairs.has(key)) send(dataFrame(pair.error, Buffer.from(forwardErrorMessage(pod, port, err))));
    });
    socket.on('close', () => {
      if (!pairs.has(key)) return;
      send(dataFrame(pair.data!, Buffer.alloc(0), true));
      send(dataFrame(pair.error!, Buffer.alloc(0), true));
      finish(pair, key);
    });
  };

  const onSynStream = async (data: Buffer) => {
    const { streamId, headers } = await codec.parseSynStream(data);
    lastStream = Math.max(lastStream, streamId);
    const type = headers.get('streamtype')?.[0];
    const port = Number(headers.get('port')?.[0]);
    // Old clients send no requestID: the data stream then follows its error stream (ids + 2).
    const requestId = headers.get('requestid')?.[0] ?? String(type === 'data' ? streamId - 2 : streamId);
    send(await codec.synReplyFrame(streamId, []));
    if (type !== 'error' && type !== 'data') {
      send(rstStreamFrame(streamId, RST_PROTOCOL_ERROR));
      return;
    }
    const pair = pairs.get(requestId) ?? {};
    pairs.set(requestId, pair);
    byStream.set(streamId, requestId);
    pair[type] = streamId;
    pair.port = port;
    if (pair.error !== undefined && pair.data !== undefined) start(pair, requestId);
  };

  const onFrame = async (frame: SpdyFrame): Promise<void> => {
    if (!frame.control) {
      const key = byStream.get(frame.streamId);
      const pair = key === undefined ? undefined : pairs.get(key);
      if (!pair) return;
      if (frame.streamId === pair.data && pair.socket) {
        if (frame.data.length > 0) pair.socket.write(frame.data);
        if (frame.flags & FLAG_FIN) pair.socket.end();
      }
      return;
    }
    switch (frame.type) {
      case SYN_STREAM:
        await onSynStream(frame.data);
        return;
      case RST_STREAM: {
        const key = byStream.get(frame.data.readUInt32BE(0) & 0x7fffffff);
        const pair = key === undefined ? undefined : pairs.get(key);
        if (pair && key !== undefined) {
          finish(pair, key);
          pair.socket?.destroy();
        }
        return;
      }
      case PING:
        send(pingFrame(frame.data.readUInt32BE(0)));
        return;
      case GOAWAY:
        close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, HEADERS, NOOP: nothing to do for port-forward.
    }
  };

  const close = () => {
    if (closed) return;
    for (const [key, pair] of pairs) {
      finish(pair, key);
      pair.socket?.destroy();
    }
    send(goawayFrame(lastStream));
    closed = true;
    codec.close();
    pipe.close();
  };

  // Frames are handled one after the other (header blocks inflate asynchronously, in order).
  let queue: Promise<void> = Promise.resolve();
  // A frame that does not parse (bad version, bad header block): the session ends.
  const broken = () => close();
  return {
    receive(chunk) {
      if (closed) return;
      let frames: SpdyFrame[];
      try {
        frames = reader.push(chunk);
      } catch {
        queue = queue.then(broken);
        return;
      }
      for (const frame of frames) queue = queue.then(() => (closed ? undefined : onFrame(frame))).catch(broken);
    },
    close,
    /** Resolves once every frame received so far is handled (tests). */
    settled: () => queue,
  };
}
