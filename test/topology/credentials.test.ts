import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createGatewayCredential } from '../../src/topology/credentials.js';
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
