import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createGatewayCredential, leafSha256, storedCredential } from '../../src/topology/credentials.js';
import { GATEWAY_CREDENTIAL, GATEWAY_NAMESPACE, PUBLIC_HOST } from '../../src/topology/reference.js';

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

describe('createGatewayCredential', () => {
  it('makes a kubernetes.io/tls Secret in istio-system named as the Gateway credentialName', async () => {
    const { secret } = await createGatewayCredential();
    expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: GATEWAY_CREDENTIAL, namespace: GATEWAY_NAMESPACE } });
    expect(Object.keys(secret.data).sort()).toEqual(['tls.crt', 'tls.key']);
    expect(decode(secret.data['tls.key'])).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('issues a server certificate for the public host, chaining to the returned CA', async () => {
    const { secret, caPem, serverCertPem } = await createGatewayCredential({ host: 'other.example.test' });
    const leaf = new X509Certificate(decode(secret.data['tls.crt']));
    expect(leaf.raw.equals(new X509Certificate(serverCertPem).raw)).toBe(true);
    expect(leaf.checkHost('other.example.test')).toBe('other.example.test');
    expect(leaf.checkHost(PUBLIC_HOST)).toBeUndefined();
    expect(leaf.verify(new X509Certificate(caPem).publicKey)).toBe(true);
    expect(new Date(leaf.validTo).getTime()).toBeGreaterThan(Date.now() + 30 * 24 * 3600_000);
  });

  it('serves TLS that a client trusting only caPem accepts for the host (and rejects for another name)', async () => {
    const { secret, caPem } = await createGatewayCredential();
    const server = tls.createServer({ cert: decode(secret.data['tls.crt']), key: decode(secret.data['tls.key']) }, (s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const connect = (servername: string) => new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername, ca: caPem }, () => { resolve(s.getProtocol() ?? ''); s.destroy(); });
      s.on('error', reject);
    });
    try {
      expect(await connect(PUBLIC_HOST)).toMatch(/^TLSv1\.[23]$/);
      await expect(connect('wrong.example.test')).rejects.toThrow(/altnames|Hostname/i);
    } finally {
      server.close();
    }
  });
});

describe('storedCredential: reuse what an earlier run stored, when it is still good', () => {
  const at = (iso: string) => new Date(iso);
  it('reuses a valid credential as it is (same Secret data, so nothing new is pushed to the gateway)', async () => {
    const made = await createGatewayCredential();
    const r = storedCredential({ secret: made.secret, caPem: made.caPem, host: PUBLIC_HOST });
    expect(r.reason).toBeNull();
    expect(r.credential!.secret.data).toEqual(made.secret.data);
    expect(leafSha256(r.credential!.serverCertPem)).toBe(leafSha256(made.serverCertPem));
  });

  it('makes a new one, saying why, when it expires soon, does not cover the host, lacks its CA or its key does not match', async () => {
    const made = await createGatewayCredential({ now: at('2026-01-01T00:00:00Z') });
    // Issued for 90 days: 2026-04-01.
    expect(storedCredential({ secret: made.secret, caPem: made.caPem, host: PUBLIC_HOST, now: at('2026-03-25T00:00:00Z') }).reason)
      .toBe('the stored certificate expires in 7 days (less than 14)');
    expect(storedCredential({ secret: made.secret, caPem: made.caPem, host: PUBLIC_HOST, now: at('2026-05-01T00:00:00Z') }).reason)
      .toBe('the stored certificate has expired');
    const now = at('2026-01-02T00:00:00Z');
    expect(storedCredential({ secret: made.secret, caPem: made.caPem, host: 'other.example.test', now }).reason).toBe('the stored certificate does not cover other.example.test');
    expect(storedCredential({ secret: made.secret, caPem: null, host: PUBLIC_HOST, now }).reason).toBe('the CA of the stored credential is not stored beside it');
    const other = await createGatewayCredential({ now });
    expect(storedCredential({ secret: made.secret, caPem: other.caPem, host: PUBLIC_HOST, now }).reason).toBe('the stored certificate was not issued by the stored CA');
    const mixed = { ...made.secret, data: { 'tls.crt': made.secret.data['tls.crt'], 'tls.key': other.secret.data['tls.key'] } };
    expect(storedCredential({ secret: mixed, caPem: made.caPem, host: PUBLIC_HOST, now }).reason).toBe('the stored key does not belong to the stored certificate');
    expect(storedCredential({ secret: null, caPem: null, host: PUBLIC_HOST }).reason).toBe('no credential stored yet');
  });
});
