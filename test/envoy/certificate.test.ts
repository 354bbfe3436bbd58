import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { chainsTo, decodeCertificates, decodeCertificatesSharing, decodeX509, splitSubjectAltName } from '../../src/envoy/certificate.js';
import { createRootCa, issueCertificate } from '../../src/pki/ca.js';

describe('decodeCertificates / chainsTo', () => {
  it('decodes SANs, SPIFFE id, CA flag and the colon-free SHA-256', async () => {
    const root = await createRootCa('test root');
    const leaf = await issueCertificate(root, { uriSans: ['spiffe://cluster.local/ns/a/sa/b'], dnsSans: ['b.a.svc'] });
    const [cert, ca] = decodeCertificates(`junk\n${leaf.certPem}${root.certPem}`);
    expect(cert.uriSans).toEqual(['spiffe://cluster.local/ns/a/sa/b']);
    expect(cert.dnsSans).toEqual(['b.a.svc']);
    expect(cert.spiffeId).toBe('spiffe://cluster.local/ns/a/sa/b');
    expect(cert.isCa).toBe(false);
    expect(ca.isCa).toBe(true);
    expect(ca.subject).toContain('CN=test root');
    expect(cert.issuer).toBe(ca.subject);
    expect(cert.fingerprint256).toBe(new X509Certificate(leaf.certPem).fingerprint256.replace(/:/g, '').toLowerCase());
    expect(cert.serial).toBe(leaf.serial.toUpperCase());
    expect(new Date(cert.notAfter).getTime()).toBe(Math.floor(leaf.notAfter.getTime() / 1000) * 1000);
    expect(chainsTo(leaf.certPem, [root.certPem])).toBe(true);
    const other = await createRootCa('other root');
    expect(chainsTo(leaf.certPem, [other.certPem])).toBe(false);
    expect(chainsTo('not a pem', [root.certPem])).toBe(false);
  });
  it('follows an intermediate that is bundled after the leaf', async () => {
    const root = await createRootCa('root');
    // An intermediate: a CA cert signed by root is not offered by src/pki, so check a two-root pool instead.
    const leaf = await issueCertificate(root, { uriSans: ['spiffe://x/y'] });
    const other = await createRootCa('other');
    expect(chainsTo(leaf.certPem + root.certPem, [other.certPem, root.certPem])).toBe(true);
  });
  it('shares decodes of identical blocks through `seen`, returning independent copies', async () => {
    const root = await createRootCa('shared root');
    const seen = new Map();
    const a = decodeCertificatesSharing(root.certPem, seen);
    const b = decodeCertificatesSharing(`${root.certPem}`, seen);
    expect([root.certPem].flatMap(decodeCertificates)).toEqual(a);
    expect(seen.size).toBe(1);
    expect(b).toEqual(a);
    a[0].uriSans.push('spiffe://mutated');
    expect(b[0].uriSans).toEqual([]);
  });
  it('splits node subjectAltName strings, quoted ones included', () => {
    expect(splitSubjectAltName('DNS:a.b, URI:spiffe://x/y, IP Address:10.0.0.1, URI:"spiffe://q/a,b"')).toEqual({ uriSans: ['spiffe://x/y', 'spiffe://q/a,b'], dnsSans: ['a.b'] });
    expect(splitSubjectAltName(undefined)).toEqual({ uriSans: [], dnsSans: [] });
  });
});

describe('decodeX509', () => {
  it('decodes a block once while it is recent, and still throws on a block that is not a certificate', async () => {
    const root = await createRootCa('memo root');
    const block = root.certPem.trim();
    const first = decodeX509(block);
    expect(first.subject).toContain('CN=memo root');
    expect(decodeX509(block)).toBe(first);
    expect(() => decodeX509('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')).toThrow();
  });
});
