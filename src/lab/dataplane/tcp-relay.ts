import net from 'node:net';

/**
 * A TCP relay on 127.0.0.1: every accepted connection is piped to `target()` (evaluated per
 * connection). Used for the NLB (L4 forwarder) and for recording taps between parties.
 */
export class TcpRelay {
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly target: () => number,
    private readonly record?: (direction: 'forward' | 'reverse', chunk: Buffer) => void,
  ) {
    this.server = net.createServer((client) => this.relay(client));
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  private relay(client: net.Socket): void {
    this.track(client);
    const upstream = net.connect({ host: '127.0.0.1', port: this.target() });
    this.track(upstream);
    if (this.record) {
      client.on('data', (c: Buffer) => this.record!('forward', c));
      upstream.on('data', (c: Buffer) => this.record!('reverse', c));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve(this.port);
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo | null)?.port ?? 0;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    return new Promise((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
  }
}
