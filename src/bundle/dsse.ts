import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import { dsse, crypto as sigstoreCrypto } from '@sigstore/core';
import type { EvidenceBundle } from './types.js';

/**
 * A signed evidence bundle: a DSSE envelope (Dead Simple Signing Envelope v1.0,
 * https://github.com/secure-systems-lab/dsse/blob/v1.0.0/envelope.md) whose payload is an in-toto
 * Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md). The
 * statement's subject is the sha256 of the bundle file's exact bytes; its predicate records the
 * run (times, tool, target). The bundle itself stays a plain file, so `analyze` reads signed and
 * unsigned bundles alike; the envelope sits beside it (`<bundle>.dsse.json`).
 *
 * The signature is over DSSE's pre-authentication encoding PAE(payloadType, payload), taken from
 * @sigstore/core (the sigstore project's implementation, also used by npm's provenance), so this
 * code never builds the signed bytes itself. Everything here is pure (no file I/O).
 */
export const DSSE_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://mesh-verify.io/attestation/evidence-run/v1';
/** The envelope file written beside a bundle: `bundle.json` -> `bundle.json.dsse.json`. */
export const ENVELOPE_SUFFIX = '.dsse.json';

export interface DsseSignature { keyid: string; sig: string }
export interface DsseEnvelope { payloadType: string; payload: string; signatures: DsseSignature[] }

export interface RunPredicate {
  /** When the envelope was made (claimed by the signer; there is no timestamp authority). */
  signedAt: string;
  signer: { name: string; version: string };
  run: { id: string; startedAt: string; finishedAt: string | null; scenario: string | null; fault: string | null };
  /** The tool that captured the bundle (run.tool of the bundle). */
  tool: { name: string; version: string };
  /** The cluster identity as the bundle records it: kind, context, API server, Istio. */
  target: EvidenceBundle['run']['target'] & { istio: EvidenceBundle['run']['istio']; host: string; entry: string };
}

export interface BundleStatement {
  _type: typeof IN_TOTO_STATEMENT_V1;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: typeof PREDICATE_TYPE;
  predicate: RunPredicate;
}

export type SigningAlgorithm = 'ed25519' | 'ecdsa-p256-sha256' | 'ecdsa-p384-sha384' | 'ecdsa-p521-sha512';

export interface SigningKey { key: KeyObject; algorithm: SigningAlgorithm; keyid: string }

export interface VerificationKey {
  key: KeyObject;
  algorithm: SigningAlgorithm;
  keyid: string;
  /** Present when --key was an X.509 certificate: its validity bounds the key's. */
  certificate: { subject: string; notBefore: string; notAfter: string } | null;
}

/** A key problem, to be reported by the caller against the file it read (exit 2). */
export class KeyFormatError extends Error {
  constructor(message: string, readonly fix?: string) { super(message); }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The keyid written into signatures: sha256 of the public key's SubjectPublicKeyInfo (DER). */
export function keyIdOf(publicKey: KeyObject): string {
  return `sha256:${sha256Hex(publicKey.export({ type: 'spki', format: 'der' }))}`;
}

function algorithmOf(key: KeyObject): SigningAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ecdsa-p256-sha256';
    if (curve === 'secp384r1') return 'ecdsa-p384-sha384';
    if (curve === 'secp521r1') return 'ecdsa-p521-sha512';
    throw new KeyFormatError(`is an ECDSA key on curve ${curve ?? 'unknown'}, not P-256, P-384 or P-521`, 'make one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem');
  }
  throw new KeyFormatError(`is a${type === 'rsa' ? 'n' : ''} ${type ?? 'unknown'} key; mesh-verify signs with Ed25519 or ECDSA (P-256, P-384, P-521)`, 'make one with: openssl genpkey -algorithm ed25519 -out key.pem');
}

/** node:crypto's digest name for the algorithm (null: Ed25519 hashes internally). */
function digestOf(alg: SigningAlgorithm): string | undefined {
  switch (alg) {
    case 'ecdsa-p256-sha256': return 'sha256';
    case 'ecdsa-p384-sha384': return 'sha384';
    case 'ecdsa-p521-sha512': return 'sha512';
    default: return undefined;
  }
}

/** Parse a PEM private key (PKCS#8, SEC1 or OpenSSH-free PEM) for signing. */
export function parseSigningKey(pem: string): SigningKey {
  if (/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem) && !/PRIVATE KEY-----/.test(pem)) {
    throw new KeyFormatError('holds a public key or certificate, not a private key', 'pass the private key to --sign-key (the public key goes to `verify --key`)');
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new KeyFormatError('is an encrypted private key; mesh-verify does not ask for passphrases', 'decrypt a copy for signing: openssl pkey -in key.pem -out plain.pem');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new KeyFormatError(`is not a PEM private key (${(err as Error).message})`, 'pass a PEM file from: openssl genpkey -algorithm ed25519 -out key.pem');
  }
  const algorithm = algorithmOf(key);
  return { key, algorithm, keyid: keyIdOf(createPublicKey(key)) };
}

/** Parse a PEM public key (SPKI) or an X.509 certificate (whose validity then limits the key). */
export function parseVerificationKey(pem: string): VerificationKey {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new KeyFormatError('is a private key; verification needs only the public key', 'extract it: openssl pkey -in key.pem -pubout -out key.pub');
  }
  if (/-----BEGIN CERTIFICATE-----/.test(pem)) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      throw new KeyFormatError(`is not a readable X.509 certificate (${(err as Error).message})`);
    }
    const key = cert.publicKey;
    return {
      key, algorithm: algorithmOf(key), keyid: keyIdOf(key),
      certificate: { subject: cert.subject.replace(/\n/g, ', '), notBefore: new Date(cert.validFrom).toISOString(), notAfter: new Date(cert.validTo).toISOString() },
    };
  }
  let key: KeyObject;
  try {
    key = sigstoreCrypto.createPublicKey(pem.trim());
  } catch (err) {
    throw new KeyFormatError(`is not a PEM public key or certificate (${(err as Error).message})`, 'pass the public key: openssl pkey -in key.pem -pubout -out key.pub');
  }
  return { key, algorithm: algorithmOf(key), keyid: keyIdOf(key), certificate: null };
}

/** The in-toto statement for a bundle file's bytes. */
export function bundleStatement(name: string, bundleBytes: Uint8Array, bundle: EvidenceBundle, signer: { name: string; version: string }, signedAt: Date): BundleStatement {
  const r = bundle.run;
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name, digest: { sha256: sha256Hex(bundleBytes) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      signedAt: signedAt.toISOString(),
      signer,
      run: { id: r.id, startedAt: r.startedAt, finishedAt: r.finishedAt, scenario: r.scenario, fault: r.fault },
      tool: r.tool,
      target: { ...r.target, istio: r.istio, host: bundle.path.host, entry: `${bundle.path.entry.address}:${bundle.path.entry.port} (${bundle.path.entry.kind})` },
    },
  };
}

/** Sign a statement into a DSSE envelope (one signature). */
export function signStatement(statement: BundleStatement, key: SigningKey): DsseEnvelope {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const pae = dsse.preAuthEncoding(DSSE_PAYLOAD_TYPE, payload);
  const sig = cryptoSign(digestOf(key.algorithm) ?? null, pae, key.key);
  return { payloadType: DSSE_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: key.keyid, sig: sig.toString('base64') }] };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check the shape of a parsed envelope file; a string is the problem (the file is unusable). */
export function asEnvelope(json: unknown): DsseEnvelope | string {
  if (!isObject(json) || typeof json.payloadType !== 'string' || typeof json.payload !== 'string' || !Array.isArray(json.signatures)) {
    return 'is not a DSSE envelope (expected payloadType, payload and signatures)';
  }
  if (json.payloadType !== DSSE_PAYLOAD_TYPE) return `is a DSSE envelope of payloadType ${JSON.stringify(json.payloadType)}, not ${DSSE_PAYLOAD_TYPE}`;
  const signatures = json.signatures.filter((s): s is DsseSignature => isObject(s) && typeof s.sig === 'string')
    .map((s) => ({ keyid: typeof s.keyid === 'string' ? s.keyid : '', sig: s.sig }));
  if (signatures.length === 0) return 'is a DSSE envelope without signatures';
  return { payloadType: json.payloadType, payload: json.payload, signatures };
}

export type SignatureCheck =
  | { status: 'verified'; keyid: string; algorithm: SigningAlgorithm; statement: BundleStatement; message: string }
  /** The signature and digest hold, but the key's certificate is not valid at the time of checking. */
  | { status: 'key-expired'; keyid: string; algorithm: SigningAlgorithm; statement: BundleStatement; notAfter: string; message: string }
  | { status: 'tampered'; reason: 'wrong-key' | 'bad-signature' | 'digest-mismatch' | 'bad-statement'; message: string };

/** Exit codes of `verify` (README "Signed bundles"): 0 verified, 1 tampered, 3 key expired. */
export function signatureExitCode(c: SignatureCheck): 0 | 1 | 3 {
  return c.status === 'verified' ? 0 : c.status === 'tampered' ? 1 : 3;
}

/**
 * Verify an envelope against the bundle bytes, offline. Order: the signature over
 * PAE(payloadType, payload) first (so a changed byte anywhere in the payload is caught before it is
 * parsed), then the statement's subject digest against the bundle bytes, then the key's validity
 * (X.509 certificate keys only) at `now`.
 */
export function verifyEnvelope(envelope: DsseEnvelope, bundleBytes: Uint8Array, key: VerificationKey, now: Date): SignatureCheck {
  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = dsse.preAuthEncoding(envelope.payloadType, payload);
  const held = envelope.signatures.some((s) => sigstoreCrypto.verify(pae, key.key, Buffer.from(s.sig, 'base64'), digestOf(key.algorithm)));
  if (!held) {
    const ids = [...new Set(envelope.signatures.map((s) => s.keyid).filter((k) => k !== ''))];
    if (ids.length > 0 && !ids.includes(key.keyid)) {
      return { status: 'tampered', reason: 'wrong-key', message: `signature does not verify with --key (${key.keyid}): the bundle was signed by ${ids.join(', ')}` };
    }
    return { status: 'tampered', reason: 'bad-signature', message: `signature does not verify with --key (${key.keyid}): the envelope was changed after signing` };
  }
  let statement: unknown;
  try {
    statement = JSON.parse(payload.toString('utf8'));
  } catch {
    return { status: 'tampered', reason: 'bad-statement', message: 'the signed payload is not JSON (signed by a tool other than mesh-verify?)' };
  }
  if (!isObject(statement) || statement._type !== IN_TOTO_STATEMENT_V1 || !Array.isArray(statement.subject) || statement.subject.length === 0) {
    return { status: 'tampered', reason: 'bad-statement', message: `the signed payload is not an in-toto Statement v1 (${IN_TOTO_STATEMENT_V1})` };
  }
  const st = statement as unknown as BundleStatement;
  const actual = sha256Hex(bundleBytes);
  const signed = st.subject.map((s) => s?.digest?.sha256).filter((d): d is string => typeof d === 'string');
  if (!signed.includes(actual)) {
    return { status: 'tampered', reason: 'digest-mismatch', message: `the bundle was changed after signing: its sha256 is ${actual}, the signed digest ${signed.join(', ') || '(none)'}` };
  }
  const who = st.predicate?.signedAt ? `, signed ${st.predicate.signedAt}` : '';
  if (key.certificate) {
    const { notBefore, notAfter, subject } = key.certificate;
    if (now.getTime() > Date.parse(notAfter) || now.getTime() < Date.parse(notBefore)) {
      const when = now.getTime() > Date.parse(notAfter) ? `expired ${notAfter}` : `is not valid before ${notBefore}`;
      return {
        status: 'key-expired', keyid: key.keyid, algorithm: key.algorithm, statement: st, notAfter,
        message: `signature and digest hold (${key.algorithm}, ${key.keyid}${who}), but the key's certificate (${subject}) ${when}: the signer cannot be vouched for at ${now.toISOString()}`,
      };
    }
  }
  return { status: 'verified', keyid: key.keyid, algorithm: key.algorithm, statement: st, message: `signature verified (${key.algorithm}, ${key.keyid}${who}); bundle sha256 ${actual}` };
}
