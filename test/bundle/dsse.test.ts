import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dsse } from '@sigstore/core';
import {
  DSSE_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1, KeyFormatError, bundleStatement, parseSigningKey, parseVerificationKey, signStatement,
  signatureExitCode, verifyEnvelope, type DsseEnvelope,
} from '../../src/bundle/dsse.js';
import { createRootCa } from '../../src/pki/ca.js';
import type { EvidenceBundle } from '../../src/bundle/types.js';

const bundlePath = new URL('../../fixtures/bundles/healthy.bundle.json', import.meta.url);
const bytes = readFileSync(bundlePath);
const bundle = JSON.parse(bytes.toString('utf8')) as EvidenceBundle;
// Signed a little after the recorded run finished (the fixtures are real lab recordings: read their times).
const NOW = new Date(Date.parse(bundle.run.finishedAt ?? bundle.run.startedAt) + 60_000);

function pemPair(type: 'ed25519' | 'ec' | 'rsa', curve?: string) {
  const { privateKey, publicKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: curve! })
    : type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  return { priv: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), pub: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function signWith(priv: string, data: Uint8Array = bytes): DsseEnvelope {
  return signStatement(bundleStatement('healthy.bundle.json', data, bundle, { name: 'mesh-verify', version: '0.1.0' }, NOW), parseSigningKey(priv));
}

describe('DSSE envelope with an in-toto statement over the bundle', () => {
  it('carries an in-toto Statement v1 whose subject is the sha256 of the bundle bytes and whose predicate records the run', () => {
    const env = signWith(pemPair('ed25519').priv);
    expect(env.payloadType).toBe(DSSE_PAYLOAD_TYPE);
    expect(env.signatures).toHaveLength(1);
    expect(env.signatures[0].keyid).toMatch(/^sha256:[0-9a-f]{64}$/);
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    expect(st._type).toBe(IN_TOTO_STATEMENT_V1);
    expect(st.subject).toEqual([{ name: 'healthy.bundle.json', digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } }]);
    // The predicate restates the recorded run (read from the bundle, not from a hand-made fixture).
    expect(bundle.run.id).toMatch(/\S/);
    expect(st.predicate.run).toMatchObject({ id: bundle.run.id, startedAt: bundle.run.startedAt, finishedAt: bundle.run.finishedAt });
    expect(st.predicate.tool).toEqual({ name: 'mesh-verify', version: '0.1.0' });
    expect(st.predicate.target).toMatchObject({
      kind: bundle.run.target.kind, simulated: bundle.run.target.simulated, description: bundle.run.target.description,
      istio: bundle.run.istio, host: bundle.path.host, entry: `${bundle.path.entry.address}:${bundle.path.entry.port} (${bundle.path.entry.kind})`,
    });
    // A lab recording says so in what is signed: an auditor sees the target was simulated.
    expect(st.predicate.target.simulated).toBe(bundle.run.target.kind === 'lab');
    expect(st.predicate.signedAt).toBe(NOW.toISOString());
  });

  it('signs over the DSSE pre-authentication encoding (spec example: "DSSEv1 <len> <type> <len> <payload>")', () => {
    // https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md: PAE("http://example.com/HelloWorld", "hello world")
    expect(dsse.preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString())
      .toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  for (const [name, type, curve] of [['Ed25519', 'ed25519', undefined], ['ECDSA P-256', 'ec', 'prime256v1'], ['ECDSA P-384', 'ec', 'secp384r1']] as const) {
    it(`verifies a ${name} signature with the public key (exit 0)`, () => {
      const k = pemPair(type, curve);
      const c = verifyEnvelope(signWith(k.priv), bytes, parseVerificationKey(k.pub), NOW);
      expect(c.status).toBe('verified');
      expect(signatureExitCode(c)).toBe(0);
    });
  }

  it('calls one changed byte of the bundle tampered (digest mismatch, exit 1)', () => {
    const k = pemPair('ed25519');
    const env = signWith(k.priv);
    const changed = Buffer.from(bytes);
    const at = changed.indexOf('TLSv1.3') + 6;
    expect(String.fromCharCode(changed[at])).toBe('3');
    changed[at] = 0x32; // the first TLSv1.3 becomes TLSv1.2
    const c = verifyEnvelope(env, changed, parseVerificationKey(k.pub), NOW);
    expect(c).toMatchObject({ status: 'tampered', reason: 'digest-mismatch' });
    expect(c.message).toMatch(/the bundle was changed after signing: its sha256 is [0-9a-f]{64}, the signed digest [0-9a-f]{64}/);
    expect(signatureExitCode(c)).toBe(1);
  });

  it('calls a changed statement (a re-encoded payload) tampered: the signature no longer holds', () => {
    const k = pemPair('ed25519');
    const env = signWith(k.priv);
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    st.predicate.target.description = 'production';
    const forged = { ...env, payload: Buffer.from(JSON.stringify(st)).toString('base64') };
    expect(verifyEnvelope(forged, bytes, parseVerificationKey(k.pub), NOW)).toMatchObject({ status: 'tampered', reason: 'bad-signature' });
  });

  it('names the other key when the bundle was signed with a different one (wrong key, exit 1)', () => {
    const signer = pemPair('ed25519');
    const other = pemPair('ed25519');
    const env = signWith(signer.priv);
    const c = verifyEnvelope(env, bytes, parseVerificationKey(other.pub), NOW);
    expect(c).toMatchObject({ status: 'tampered', reason: 'wrong-key' });
    expect(c.message).toContain(env.signatures[0].keyid);
    expect(signatureExitCode(c)).toBe(1);
  });

  it('accepts an X.509 certificate as the key and reports it expired once its validity ended (exit 3)', async () => {
    // A self-signed ECDSA certificate valid for one day, 10 days ago.
    const ca = await createRootCa('signer', { now: NOW, notBeforeMs: -10 * 86400_000, notAfterMs: -9 * 86400_000 });
    const env = signWith(ca.keyPem);
    const key = parseVerificationKey(ca.certPem);
    expect(key.certificate?.notAfter).toBe(ca.notAfter.toISOString().replace(/\.\d{3}Z$/, '.000Z'));
    const c = verifyEnvelope(env, bytes, key, NOW);
    expect(c.status).toBe('key-expired');
    expect(c.message).toMatch(/signature and digest hold .* but the key's certificate \(CN=signer, O=mesh-verify\) expired/);
    expect(signatureExitCode(c)).toBe(3);
    // Judged at a time inside the certificate's validity, the same envelope verifies.
    expect(verifyEnvelope(env, bytes, key, new Date(NOW.getTime() - 9.5 * 86400_000)).status).toBe('verified');
  });

  it('refuses keys it cannot sign or verify with, naming the fix', () => {
    expect(() => parseSigningKey(pemPair('rsa').priv)).toThrow(KeyFormatError);
    expect(() => parseSigningKey(pemPair('rsa').priv)).toThrow(/is an rsa key; mesh-verify signs with Ed25519 or ECDSA/);
    expect(() => parseSigningKey(pemPair('ed25519').pub)).toThrow(/not a private key/);
    expect(() => parseVerificationKey(pemPair('ed25519').priv)).toThrow(/is a private key; verification needs only the public key/);
    expect(() => parseSigningKey('hello')).toThrow(/is not a PEM private key/);
    expect(() => parseVerificationKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toThrow(/is not a PEM public key/);
  });
});
