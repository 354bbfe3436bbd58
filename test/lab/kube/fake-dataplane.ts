import { createServer, type Server } from 'node:net';
import type { LabDataPlane, StartDataPlane } from '../../../src/lab/lab.js';
import type { MeshState } from '../../../src/lab/types.js';
import { startFakeProxies } from './fake-proxies.js';

/**
 * A data-plane double for startLab tests: fake admin servers per proxy, and svc's inbound port
 * as a TCP server that answers plaintext only while the pushed state says PERMISSIVE (STRICT:
 * it closes the connection, as an mTLS-only listener does with plaintext).
 */
export interface FakeDataPlane extends LabDataPlane {
  started: MeshState;
  pushed: MeshState[];
  svcInboundPort: number;
  servers: Server[];
}

export function fakeDataPlaneFactory(created: FakeDataPlane[] = []): StartDataPlane {
  return async ({ state }) => {
    const proxies = await startFakeProxies([
      { namespace: 'istio-system', name: 'istio-ingressgateway-7d9f8b6c5d-gw001', app: 'istio-ingressgateway' },
      { namespace: 'mesh-verify', name: 'bff-5d8c7f6b9d-abcde', app: 'bff' },
      { namespace: 'mesh-verify', name: 'svc-6f9b8c7d5c-fghij', app: 'svc' },
    ]);
    const gw = proxies.pods()[0];
    gw.labels = { app: 'istio-ingressgateway', istio: 'ingressgateway' };
    gw.containers = ['istio-proxy'];
    let current = state;
    const svcServer = createServer((sock) => {
      sock.once('data', () => {
        if (current.inbound.svc === 'PERMISSIVE') sock.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
        else sock.destroy();
      });
    });
    await new Promise<void>((r) => svcServer.listen(0, '127.0.0.1', () => r()));
    const nlb = createServer((s) => s.destroy());
    await new Promise<void>((r) => nlb.listen(0, '127.0.0.1', () => r()));
    const dp: FakeDataPlane = {
      get state() { return current; },
      started: state,
      pushed: [],
      nlb: { host: '127.0.0.1', port: (nlb.address() as { port: number }).port },
      publicHost: 'web.mesh-verify.test',
      externalCaPem: '-----BEGIN CERTIFICATE-----\nexternal\n-----END CERTIFICATE-----\n',
      meshRootPem: '-----BEGIN CERTIFICATE-----\nmeshroot\n-----END CERTIFICATE-----\n',
      svcInboundPort: (svcServer.address() as { port: number }).port,
      servers: [...proxies.servers, svcServer as unknown as Server, nlb],
      pods: proxies.pods,
      async reconfigure(next) { current = next; dp.pushed.push(next); },
      setGatewayCredential() { /* the fake gateway serves no TLS */ },
      async stop() {
        await proxies.stop();
        await Promise.all([svcServer, nlb].map((s) => new Promise<void>((r) => s.close(() => r()))));
      },
    } as FakeDataPlane;
    created.push(dp);
    return dp;
  };
}
