import type http from 'node:http';
import https from 'node:https';
import { createRootCa, issueCertificate } from '../../src/pki/ca.js';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

/**
 * An API server reached under a path, as Rancher serves downstream clusters
 * (`https://rancher.example/k8s/clusters/c-1/api/v1/...`): plain HTTP on 127.0.0.1 that answers
 * only under `prefix` and forwards, with the prefix stripped, to the real API at `upstream`
 * (requests and upgrades: port-forward, exec). Anything outside the prefix is a 404, so a client
 * that drops the server URL's path fails. `seen` records every path a client asked for;
 * `beforeForward` runs (and is awaited) before a request is forwarded, e.g. to change the cluster
 * between two pages of a list.
 */
export async function startPathPrefixProxy(upstream: string, caPem: string, prefix: string,
  opts: { beforeForward?: (path: string) => Promise<void> } = {}):
  Promise<{ url: string; caPem: string; seen: string[]; close(): Promise<void> }> {
  const ca = await createRootCa('path-prefix-proxy-ca');
  const cert = await issueCertificate(ca, { commonName: 'rancher', ipSans: ['127.0.0.1'], serverAuth: true, clientAuth: false });
  const target = new URL(upstream);
  const seen: string[] = [];
  const strip = (path: string | undefined): string | null => {
    const p = path ?? '/';
    seen.push(p);
    return p === prefix || p.startsWith(`${prefix}/`) || p.startsWith(`${prefix}?`) ? p.slice(prefix.length) || '/' : null;
  };
  const server = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    const path = strip(req.url);
    if (path === null) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('404 page not found\n'); return; }
    void (opts.beforeForward?.(path) ?? Promise.resolve()).then(() => forward(req, res, path), () => res.destroy());
  });
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, path: string) => {
    const out = https.request({ host: target.hostname, port: target.port, path, method: req.method, headers: { ...req.headers, host: target.host }, ca: caPem }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = strip(req.url);
    if (path === null) { socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'); return; }
    const up = tls.connect({ host: target.hostname, port: Number(target.port), ca: caPem, servername: 'localhost' }, () => {
      const lines = [`${req.method} ${path} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i].toLowerCase() === 'host' ? target.host : req.rawHeaders[i + 1]}`);
      }
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}${prefix}`,
    caPem: ca.certPem,
    seen,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
