import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createRootCa, issueCertificate } from '../../src/pki/ca.js';
import { waitForEntry } from '../../src/probe/wait-entry.js';
import { leafSha256 } from '../../src/topology/credentials.js';
import { startServer } from './tls-echo-server.js';

let srv: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  const ca = await createRootCa('wait test CA');
  srv = await startServer(await issueCertificate(ca, { dnsSans: ['other.test'] }), () => '{}');
});
afterAll(async () => { await srv.close(); });

describe('waitForEntry', () => {
  it('returns null once /healthz answers 200, whatever certificate the entry presents', async () => {
    expect((await waitForEntry({ address: '127.0.0.1', port: srv.port, host: 'web.test', timeoutMs: 2000 })).notReady).toBeNull();
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
      expect(why.notReady).toBeNull();
      expect(retries).toEqual([expect.stringMatching(/^HTTP 404 /), expect.stringMatching(/^HTTP 503 .*no healthy upstream/)]);
      expect(answers).toEqual([]);
    } finally {
      server.close();
    }
  });

  it("waits until the served leaf is this run's (a credential stored after the old one is still served, as SDS pushes it later)", async () => {
    // Istio's gateway keeps serving the old credential until istiod's SDS push of the new Secret
    // reaches it (pilot/pkg/xds/sds.go and the Secret controller pilot/pkg/credentials/kube/secrets.go at 1.30.3): here the
    // server swaps its certificate after two handshakes, as the push would.
    const ca = await createRootCa('wait test CA 3');
    const old = await issueCertificate(ca, { dnsSans: ['web.test'] });
    const fresh = await issueCertificate(ca, { dnsSans: ['web.test'] });
    const https = await import('node:https');
    let handshakes = 0;
    const server = https.createServer({ cert: old.certPem, key: old.keyPem }, (_req, res) => { res.writeHead(200); res.end('ok'); });
    server.on('secureConnection', () => { handshakes += 1; if (handshakes === 2) server.setSecureContext({ cert: fresh.certPem, key: fresh.keyPem }); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const retries: string[] = [];
      const port = (server.address() as AddressInfo).port;
      const r = await waitForEntry({ address: '127.0.0.1', port, host: 'web.test', timeoutMs: 5000, pollMs: 10, expectLeafSha256: leafSha256(fresh.certPem), onRetry: (w) => retries.push(w) });
      expect(r).toEqual({ notReady: null, servedLeaf: { sha256: leafSha256(fresh.certPem), subject: 'no CN' }, leafMismatch: false });
      expect(retries).toEqual([expect.stringMatching(new RegExp(`^the gateway serves certificate sha256 ${leafSha256(old.certPem).slice(0, 16)}\\.\\.\\. .*not this run's`)), expect.stringMatching(/not this run's/)]);
      // Never served: reported as such, with the leaf that was served.
      const never = await waitForEntry({ address: '127.0.0.1', port, host: 'web.test', timeoutMs: 300, pollMs: 100, expectLeafSha256: leafSha256(old.certPem) });
      expect(never.leafMismatch).toBe(true);
      expect(never.servedLeaf?.sha256).toBe(leafSha256(fresh.certPem));
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
    expect(why.notReady).toMatch(/ECONNREFUSED/);
    expect(retries.length).toBeGreaterThanOrEqual(1);
  });
});
