import { createServer, type Server } from 'node:http';
import type { LabPod } from '../../../src/lab/types.js';

/**
 * Test double for the data plane's pods: one HTTP server per proxy answering a few Envoy admin
 * paths (shape only), on 127.0.0.1.
 */
export interface FakeProxies {
  pods(): LabPod[];
  servers: Server[];
  accessLog: Map<string, string[]>;
  stop(): Promise<void>;
}

export async function startFakeProxies(specs: { namespace: string; name: string; app: string; sidecar?: boolean }[]): Promise<FakeProxies> {
  const servers: Server[] = [];
  const pods: LabPod[] = [];
  const accessLog = new Map<string, string[]>();
  for (const [i, s] of specs.entries()) {
    const server = createServer((req, res) => {
      if (req.url === '/server_info') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ version: 'fake/1.0/Clean/RELEASE/BoringSSL', state: 'LIVE', node: { id: `sidecar~10.244.0.${10 + i}~${s.name}.${s.namespace}~${s.namespace}.svc.cluster.local` } }));
        return;
      }
      if (req.url === '/ready') { res.end('LIVE\n'); return; }
      res.statusCode = 404;
      res.end('invalid path\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    const port = (server.address() as { port: number }).port;
    const lines = [`{"start_time":"2020-01-01T00:00:00.000Z","x_request_id":"old-${s.app}"}`, `{"start_time":"${new Date().toISOString()}","x_request_id":"req-${s.app}-1"}`];
    accessLog.set(s.name, lines);
    const sidecar = s.sidecar ?? true;
    pods.push({
      namespace: s.namespace, name: s.name, app: s.app, serviceAccount: s.app, ip: `10.244.0.${10 + i}`, labels: { app: s.app },
      containers: sidecar ? [s.app, 'istio-proxy'] : [s.app],
      ports: sidecar ? { 15000: port } : {},
      logs: (c) => (c === 'istio-proxy' ? lines : [`${s.app} listening on 8080`]),
    });
  }
  return {
    pods: () => pods, servers, accessLog,
    async stop() { await Promise.all(servers.map((sv) => new Promise<void>((r) => { sv.closeAllConnections(); sv.close(() => r()); }))); },
  };
}
