import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForwardedSocket, portForwardUrl } from '../../src/cluster/port-forward-server.js';

describe('ForwardedSocket (an HTTP client over a port-forward stream, no local port)', () => {
  let server: http.Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => res.end(`answer to ${req.url}`));
    server.on('connection', () => { connections += 1; });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('carries many keep-alive requests with timeouts over one stream, without piling up listeners', async () => {
    // Stands in for the WebSocket: bytes relayed to and from a TCP connection to the server.
    const tcp = net.connect(port, '127.0.0.1');
    const socket = new ForwardedSocket((chunk) => tcp.write(chunk), () => tcp.end());
    tcp.on('data', (c: Buffer) => socket.receive(c));
    tcp.on('end', () => socket.push(null));
    class OneStream extends http.Agent {
      override createConnection(): ForwardedSocket { return socket; }
    }
    const agent = new OneStream({ keepAlive: true, maxSockets: 1 });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 15; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', path: `/r${i}`, agent }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => { text += c.toString(); });
            res.on('end', () => resolve(text));
          });
          req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
          req.on('error', reject);
        });
        expect(body).toBe(`answer to /r${i}`);
      }
      expect(connections).toBe(1);
      expect(socket.listenerCount('timeout')).toBeLessThanOrEqual(1);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      agent.destroy();
      tcp.destroy();
    }
  });
});

describe('portForwardUrl', () => {
  it('turns the cluster server URL into the WebSocket URL of the pod port-forward subresource', () => {
    expect(portForwardUrl('https://10.0.0.1:6443', { namespace: 'shop', name: 'cart-1' }, 15000))
      .toBe('wss://10.0.0.1:6443/api/v1/namespaces/shop/pods/cart-1/portforward?ports=15000');
    // A server behind a path prefix (e.g. Rancher, a proxy) keeps it; a trailing slash is dropped.
    expect(portForwardUrl('https://rancher.example/k8s/clusters/c-1/', { namespace: 'a', name: 'b' }, 15000))
      .toBe('wss://rancher.example/k8s/clusters/c-1/api/v1/namespaces/a/pods/b/portforward?ports=15000');
    expect(portForwardUrl('http://127.0.0.1:8001', { namespace: 'a', name: 'b' }, 15020))
      .toBe('ws://127.0.0.1:8001/api/v1/namespaces/a/pods/b/portforward?ports=15020');
  });
});
