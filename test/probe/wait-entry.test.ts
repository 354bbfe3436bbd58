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
