import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { IssuedCert } from '../../src/pki/ca.js';

export interface Seen { ids: string[]; meshVerifyIds: string[]; hosts: string[]; snis: string[]; connections: number }

/** A local HTTPS server standing in for the gateway: records ids, Host, SNI and connections. */
export async function startServer(cert: IssuedCert, answer: (id: string) => string): Promise<{ port: number; seen: Seen; cert: IssuedCert; close(): Promise<void> }> {
  const seen: Seen = { ids: [], meshVerifyIds: [], hosts: [], snis: [], connections: 0 };
  const server = https.createServer({ cert: cert.chainPem, key: cert.keyPem }, (req, res) => {
    if (req.url === '/healthz') { res.writeHead(200); res.end('ok'); return; }
    const id = String(req.headers['x-request-id'] ?? '');
    seen.ids.push(id);
    seen.meshVerifyIds.push(String(req.headers['x-mesh-verify-id'] ?? ''));
    seen.hosts.push(String(req.headers.host));
    seen.snis.push(String((req.socket as TLSSocket).servername));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(answer(id));
  });
  server.on('secureConnection', () => { seen.connections += 1; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    cert,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}


/** What the reference bff app answers when svc answered too (fixtures/topology/app/app.mjs). */
export function appEcho(id: string): string {
  return JSON.stringify({
    service: 'bff', pod: 'bff-1', requestId: id, method: 'GET', path: '/', headers: { 'x-request-id': id },
    upstream: { url: 'http://svc:8080/', status: 200, error: null, body: { service: 'svc', pod: 'svc-1', requestId: id, method: 'GET', path: '/', headers: {} } },
  });
}
