import type { Server } from 'node:net';
import { Duplex } from 'node:stream';

/**
 * In-memory connections for port-forward: the lab's API reaches a pod's port inside the same
 * process instead of through a loopback TCP connection (a real kubelet connects inside the pod's
 * network namespace, on another machine; a loopback hop here costs the lab's CPU, not the
 * client's). What one end writes, the other reads, with TCP's end and close semantics.
 */

let nextPort = 50000;

/**
 * One end of an in-memory connection. Carries the net.Socket members node:http's server calls
 * (setTimeout with an idle timer, setNoDelay, setKeepAlive, destroySoon, addresses).
 */
export class InProcessSocket extends Duplex {
  peer: InProcessSocket | null = null;
  remoteAddress = '127.0.0.1';
  remotePort = 0;
  remoteFamily = 'IPv4';
  localAddress = '127.0.0.1';
  localPort = 0;
  /** The writer's callback while this end's reader is full (backpressure, as a socket buffer). */
  private blockedWrite: (() => void) | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleMs = 0;
  /** When this end last read or wrote (performance.now()), while an idle timer is set. */
  private lastActive = 0;

  constructor(allowHalfOpen: boolean) {
    super({ allowHalfOpen });
  }

  override _read(): void {
    const cb = this.blockedWrite;
    this.blockedWrite = null;
    cb?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.deliver(chunk, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.deliver(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }

  private deliver(chunk: Buffer, cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed || peer.readableEnded) return cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' }));
    this.touch();
    if (chunk.length === 0) return cb();
    peer.touch();
    if (peer.push(chunk)) cb();
    else peer.blockedWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (peer && !peer.destroyed) peer.push(null);
    cb();
  }


  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.setTimeout(0);
    const peer = this.peer;
    this.peer = null;
    // The other end reads what was sent, then the end of the stream (a FIN).
    if (peer && !peer.destroyed && !peer.readableEnded) peer.push(null);
    const blocked = this.blockedWrite;
    this.blockedWrite = null;
    blocked?.();
    cb(err);
  }

  /**
   * As net.Socket#setTimeout: emit 'timeout' after `ms` without reads or writes (0 = never).
   * Activity only notes the time; the timer, when it fires early, waits for the rest.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.idleMs = ms;
    if (callback) {
      if (ms === 0) this.off('timeout', callback);
      else this.once('timeout', callback);
    }
    if (ms > 0 && !this.destroyed) {
      this.lastActive = performance.now();
      this.idleTimer = setTimeout(() => this.onIdleTimer(), ms);
      this.idleTimer.unref();
    }
    return this;
  }

  private onIdleTimer(): void {
    const timer = this.idleTimer;
    if (!timer) return;
    const rest = this.lastActive + this.idleMs - performance.now();
    if (rest > 1) {
      this.idleTimer = setTimeout(() => this.onIdleTimer(), rest);
      this.idleTimer.unref();
      return;
    }
    this.idleTimer = null;
    this.emit('timeout');
  }

  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  /** As net.Socket#destroySoon: end, and destroy once everything written was read. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  private touch(): void {
    if (this.idleTimer) this.lastActive = performance.now();
  }
}

/**
 * Connect to `server` in memory: its 'connection' listeners get one end (as net.Server hands
 * them an accepted socket; half-open allowed, as for node:http's sockets), the caller the other
 * (half-open not allowed, as net.connect's). `port` is the server's port the connection stands for.
 */
export function connectInProcess(server: Server, port: number): Duplex {
  const client = new InProcessSocket(false);
  const accepted = new InProcessSocket(true);
  client.peer = accepted;
  accepted.peer = client;
  const ephemeral = nextPort;
  nextPort = nextPort >= 60999 ? 50000 : nextPort + 1;
  Object.assign(client, { remotePort: port, localPort: ephemeral });
  Object.assign(accepted, { remotePort: ephemeral, localPort: port });
  server.emit('connection', accepted);
  return client;
}

/**
 * A connection to 127.0.0.1:`port` where nothing listens: it fails as net.connect does (an
 * ECONNREFUSED error with net's message, then 'close').
 */
export function refusedConnection(port: number): Duplex {
  const client = new InProcessSocket(false);
  // No stack frames (as net's error has none of the caller's): destroy() reads err.stack, which
  // costs a source-map lookup per frame when source maps are on.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const err = Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), {
    errno: -111, code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port,
  });
  Error.stackTraceLimit = limit;
  process.nextTick(() => client.destroy(err));
  return client;
}
