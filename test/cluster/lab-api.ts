import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabPod } from '../../src/lab/types.js';

type StartKubeApi = typeof import('../../src/lab/kube/server.js').startKubeApi;
export async function loadStartKubeApi(): Promise<StartKubeApi> {
  return (await import('../../src/lab/kube/server.js')).startKubeApi;
}

/**
 * A stand-in Envoy admin server: the answers mesh-verify reads, in Envoy's shapes. Counts TCP
 * connections so tests can prove keep-alive.
 */
export async function startFakeAdmin(name: string): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/ready') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('LIVE\n'); return; }
    if (path === '/server_info') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version: 'lab/1.0/Clean/RELEASE/BoringSSL', state: 'LIVE', node: { id: `sidecar~10.0.0.1~${name}.mesh-verify~mesh-verify.svc.cluster.local` } }));
      return;
    }
    if (path.startsWith('/stats')) { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('listener.0.0.0.0_15006.ssl.handshake: 3\n'); return; }
    if (path === '/unavailable') { res.writeHead(503, { 'content-type': 'text/plain' }); res.end('draining'); return; }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('invalid path. admin commands are:\n  /server_info\n');
  });
  server.on('connection', () => { connections += 1; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export function labPod(name: string, adminPort: number | null, logs: Record<string, string[]> = {}): LabPod {
  return {
    namespace: 'mesh-verify', name, app: name.split('-')[0], serviceAccount: name.split('-')[0], ip: '10.244.0.9',
    labels: { app: name.split('-')[0] }, containers: [name.split('-')[0], 'istio-proxy'],
    ports: adminPort === null ? {} : { 15000: adminPort },
    logs: (c) => logs[c] ?? [],
  };
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-verify-cluster-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
