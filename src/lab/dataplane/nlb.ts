import net from 'node:net';
import tls from 'node:tls';
import { PUBLIC_HOST } from '../../topology/reference.js';
import { LoopbackService, spliceSockets, trackSocket } from './loopback-server.js';
import { replayDuplex, firstChunk } from './replay-socket.js';

export interface NlbOptions {
  /** Port of the gateway (or of the tap in front of it). */
  gatewayPort(): number;
  /** Fault nlb-terminates-tls: terminate with this certificate and re-originate TLS. */
  terminate(): { certPem: string; keyPem: string; gatewayCaPem: string } | null;
}

/**
 * The NLB-equivalent: an L4 TCP forwarder to the gateway that never looks inside TLS.
 * Under nlb-terminates-tls it terminates the client's TLS with its own certificate and opens a
 * new TLS connection to the gateway (what a misconfigured TLS listener on a load balancer does).
 */
export class Nlb extends LoopbackService {
  connections = 0;

  constructor(private readonly opts: NlbOptions) {
    super(net.createServer());
    this.server.on('connection', (client: net.Socket) => void this.accept(client));
  }

  private track<T extends net.Socket>(s: T): T {
    s.on('error', () => s.destroy());
    return trackSocket(this.sockets, s);
  }

  private async accept(client: net.Socket): Promise<void> {
    this.connections += 1;
    this.track(client);
    const term = this.opts.terminate();
    if (!term) {
      spliceSockets(client, this.track(net.connect({ host: '127.0.0.1', port: this.opts.gatewayPort() })));
      return;
    }
    const head = await firstChunk(client);
    if (!head) return void client.destroy();
    const down = new tls.TLSSocket(replayDuplex(client, head), {
      isServer: true,
      secureContext: tls.createSecureContext({ cert: term.certPem, key: term.keyPem }),
      ALPNProtocols: ['http/1.1'],
    });
    down.on('error', () => client.destroy());
    down.once('secure', () => {
      const sni = (down as tls.TLSSocket & { servername?: string | false }).servername || PUBLIC_HOST;
      const up = this.track(tls.connect({ host: '127.0.0.1', port: this.opts.gatewayPort(), servername: sni, ca: term.gatewayCaPem, ALPNProtocols: ['http/1.1'] }));
      spliceSockets(down, up);
      up.once('close', () => client.destroy());
    });
  }
}
