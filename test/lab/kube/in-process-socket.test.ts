import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectInProcess, refusedConnection } from '../../../src/lab/kube/in-process-socket.js';
import type { Duplex } from 'node:stream';

/** Everything `conn` reads until it closes, and how it ended. */
function drain(conn: Duplex): Promise<{ text: string; error: string | null; ended: boolean }> {
  const chunks: Buffer[] = [];
  let error: string | null = null;
  let ended = false;
  conn.on('data', (c: Buffer) => chunks.push(c));
  conn.on('end', () => { ended = true; });
  conn.on('error', (e) => { error = e.message; });
  return new Promise((resolve) => conn.on('close', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), error, ended })));
}

describe('in-process connections (port-forward without a loopback TCP hop)', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => (s.listening ? s.close(r) : r(undefined)));
    }
  });
  const serve = (opts: http.ServerOptions = {}) => {
    const s = http.createServer(opts, (req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(`answer to ${req.url}`); });
    servers.push(s);
    return s;
  };

  it('carries keep-alive HTTP to a node:http server, which closes the connection on Connection: close', async () => {
    const conn = connectInProcess(serve(), 15000);
    const done = drain(conn);
    conn.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    conn.write('GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const r = await done;
    expect(r.error).toBeNull();
    expect(r.ended).toBe(true);
    expect(r.text.match(/answer to \/\w/g)).toEqual(['answer to /a', 'answer to /b']);
    expect(r.text).toContain('Connection: keep-alive');
    expect(r.text).toContain('Connection: close');
  });

  it("closes an idle keep-alive connection after the server's keepAliveTimeout, as over TCP", async () => {
    const conn = connectInProcess(serve({ keepAliveTimeout: 30 }), 15000);
    const done = drain(conn);
    conn.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await done;
    expect(r.text).toContain('answer to /idle');
    expect(r.ended).toBe(true);
    expect(r.error).toBeNull();
  });

  it('is ended by closeAllConnections of a listening server (a stopped fleet leaves none open)', async () => {
    const s = serve();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const conn = connectInProcess(s, 15000);
    const done = drain(conn);
    conn.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => conn.once('data', r));
    s.closeAllConnections();
    const r = await done;
    expect(r.ended).toBe(true);
  });

  it('a refused connection fails as net.connect does to a port nothing listens on', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const overTcp = await drain(net.connect({ host: '127.0.0.1', port }));
    const inProcess = await drain(refusedConnection(port));
    expect(inProcess).toEqual(overTcp);
    expect(inProcess.error).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});
