import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { createRootCa, issueCertificate, certSha256Hex } from '../../src/pki/ca.js';

describe('pki', () => {
  it('issues SPIFFE workload certificates that chain to their root and not to another', async () => {
    const root = await createRootCa('mesh root');
    const other = await createRootCa('foreign root');
    const leaf = await issueCertificate(root, { uriSans: ['spiffe://cluster.local/ns/mesh-verify/sa/bff'] });
    const x = new X509Certificate(leaf.certPem);
    expect(x.subjectAltName).toBe('URI:spiffe://cluster.local/ns/mesh-verify/sa/bff');
    expect(x.verify(new X509Certificate(root.certPem).publicKey)).toBe(true);
    expect(x.verify(new X509Certificate(other.certPem).publicKey)).toBe(false);
    expect(certSha256Hex(leaf.certPem)).toBe(x.fingerprint256.replace(/:/g, '').toLowerCase());
  });

  it('can make an already expired certificate', async () => {
    const root = await createRootCa('mesh root');
    const leaf = await issueCertificate(root, { uriSans: ['spiffe://x/ns/a/sa/b'], notBeforeMs: -2 * 3600_000, notAfterMs: -3600_000 });
    expect(new Date(new X509Certificate(leaf.certPem).validTo).getTime()).toBeLessThan(Date.now());
  });
});
