import net from 'node:net';
import { LoopbackService, spliceSockets, trackSocket } from './loopback-server.js';

/**
 * A TCP relay on 127.0.0.1: every accepted connection is piped to `target()` (evaluated per
 * connection). Used for the NLB (L4 forwarder) and for recording taps between parties.
 */
export class TcpRelay extends LoopbackService {
  constructor(
    private readonly target: () => number,
    private readonly record?: (direction: 'forward' | 'reverse', chunk: Buffer) => void,
  ) {
    super(net.createServer());
    this.server.on('connection', (client: net.Socket) => this.relay(client));
  }

  private track(s: net.Socket): net.Socket {
    s.on('error', () => s.destroy());
    return trackSocket(this.sockets, s);
  }

  private relay(client: net.Socket): void {
    this.track(client);
    const upstream = this.track(net.connect({ host: '127.0.0.1', port: this.target() }));
    if (this.record) {
      client.on('data', (c: Buffer) => this.record!('forward', c));
      upstream.on('data', (c: Buffer) => this.record!('reverse', c));
    }
    spliceSockets(client, upstream);
  }
}
