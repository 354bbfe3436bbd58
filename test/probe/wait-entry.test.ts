import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRootCa, issueCertificate } from '../../src/pki/ca.js';
import { waitForEntry } from '../../src/probe/wait-entry.js';
import { startServer } from './tls-echo-server.js';

let srv: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  const ca = await createRootCa('wait test CA');
  srv = await startServer(await issueCertificate(ca, { dnsSans: ['other.test'] }), () => '{}');
});
afterAll(async () => { await srv.close(); });

describe('waitForEntry', () => {
  it('returns null once /healthz answers 200, whatever certificate the entry presents', async () => {
    expect(await waitForEntry({ address: '127.0.0.1', port: srv.port, host: 'web.test', timeoutMs: 2000 })).toBeNull();
  });

  it('treats a 503 from a broken hop as routed, but waits out 404 and "no healthy upstream"', async () => {
    const ca = await createRootCa('wait test CA 2');
    const cert = await issueCertificate(ca, { dnsSans: ['web.test'] });
    const answers: [number, string][] = [[404, ''], [503, 'no healthy upstream'], [503, 'upstream connect error or disconnect/reset before headers']];
    const https = await import('node:https');
    const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => {
      const [status, body] = answers.shift() ?? [500, 'drained'];
      res.writeHead(status); res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const retries: string[] = [];
      const why = await waitForEntry({ address: '127.0.0.1', port: (server.address() as AddressInfo).port, host: 'web.test', timeoutMs: 5000, pollMs: 10, onRetry: (w) => retries.push(w) });
      expect(why).toBeNull();
      expect(retries).toEqual([expect.stringMatching(/^HTTP 404 /), expect.stringMatching(/^HTTP 503 .*no healthy upstream/)]);
      expect(answers).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('gives up with the last reason, retrying until the bound', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
    });
    const retries: string[] = [];
    const why = await waitForEntry({ address: '127.0.0.1', port, host: 'web.test', timeoutMs: 350, pollMs: 100, onRetry: (w) => retries.push(w) });
    expect(why).toMatch(/ECONNREFUSED/);
    expect(retries.length).toBeGreaterThanOrEqual(1);
  });
});
