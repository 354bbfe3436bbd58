import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/**
 * Like Envoy's tls_inspector: read the first bytes of a connection to tell TLS from plaintext,
 * then hand a stream that replays them to the real protocol handler. (node's http server reads
 * the socket handle directly, so `unshift` would lose the peeked bytes; a Duplex does not.)
 */
export function firstChunk(socket: Socket): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const done = (chunk: Buffer | null): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      resolve(chunk);
    };
    const onData = (chunk: Buffer): void => {
      socket.pause();
      done(chunk);
    };
    const onEnd = (): void => done(null);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
  });
}

/** TLS records start with a handshake content type (0x16) followed by version major 3. */
export function looksLikeTls(chunk: Buffer): boolean {
  return chunk.length >= 2 && chunk[0] === 0x16 && chunk[1] === 0x03;
}

/** Addresses of the real socket underneath a replaying stream (for access logs). */
export interface SocketAddresses {
  localAddress: string;
  remoteAddress: string;
}

const ADDRESSES = new WeakMap<object, SocketAddresses>();

export function addressesOf(stream: object): SocketAddresses | undefined {
  return ADDRESSES.get(stream);
}

function rememberAddresses(stream: object, socket: Socket): SocketAddresses {
  const addresses = {
    localAddress: `${socket.localAddress ?? '127.0.0.1'}:${socket.localPort ?? 0}`,
    remoteAddress: `${socket.remoteAddress ?? '127.0.0.1'}:${socket.remotePort ?? 0}`,
  };
  ADDRESSES.set(stream, addresses);
  return addresses;
}

/** A Duplex that first yields `head`, then everything the socket reads; writes go to the socket. */
export function replayDuplex(socket: Socket, head: Buffer): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed) return cb(new Error('socket closed'));
      socket.write(chunk, (err) => cb(err ?? null));
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  stream.push(head);
  socket.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  socket.on('error', (err) => stream.destroy(err));
  // http.Server sets timeouts and keep-alive through these; a plain Duplex lacks them.
  Object.assign(stream, {
    setTimeout: (ms: number, cb?: () => void) => { socket.setTimeout(ms, cb); return stream; },
    setNoDelay: (v?: boolean) => { socket.setNoDelay(v); return stream; },
    setKeepAlive: (v?: boolean, d?: number) => { socket.setKeepAlive(v, d); return stream; },
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
  });
  rememberAddresses(stream, socket);
  return stream;
}
