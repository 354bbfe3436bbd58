import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from '@peculiar/x509';

/**
 * A small certificate authority for the lab, the test fixtures and the gateway credential that
 * `mesh-verify path` stores as a TLS Secret. ECDSA P-256 keys (fast to make), real X.509 v3
 * certificates usable by node:tls.
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface IssuedCert {
  /** Leaf certificate PEM. */
  certPem: string;
  /** PKCS#8 private key PEM (never put in a bundle). */
  keyPem: string;
  /** Leaf + issuing chain up to (not including) the root, PEM concatenated. */
  chainPem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface Authority extends IssuedCert {
  name: string;
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
}

export interface IssueOptions {
  commonName?: string;
  /** Subject O= (Kubernetes reads it as the client's groups, e.g. system:masters). */
  organization?: string;
  uriSans?: string[];
  dnsSans?: string[];
  ipSans?: string[];
  /** Validity relative to now (ms). Negative notAfterMs makes an already expired cert. */
  notBeforeMs?: number;
  notAfterMs?: number;
  /** Extended key usage (default: server and client auth). */
  serverAuth?: boolean;
  clientAuth?: boolean;
  now?: Date;
}

let serialCounter = 1;
function nextSerial(): string {
  const rnd = Array.from(webcrypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
  serialCounter += 1;
  // Leading 01 keeps the serial positive.
  return `01${rnd}${serialCounter.toString(16).padStart(4, '0')}`;
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

export async function createRootCa(name: string, opts: { organization?: string; notBeforeMs?: number; notAfterMs?: number; now?: Date } = {}): Promise<Authority> {
  const now = opts.now ?? new Date();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(now.getTime() + (opts.notBeforeMs ?? -60 * 60_000));
  const notAfter = new Date(now.getTime() + (opts.notAfterMs ?? 365 * 24 * 3600_000));
  const serial = nextSerial();
  const subject = `CN=${name}, O=${opts.organization ?? 'mesh-verify'}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  return {
    name, keys, cert, certPem, chainPem: certPem, keyPem: await keyToPem(keys.privateKey), serial, notBefore, notAfter,
  };
}

export async function issueCertificate(ca: Authority, opts: IssueOptions): Promise<IssuedCert> {
  const now = opts.now ?? new Date();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(now.getTime() + (opts.notBeforeMs ?? -5 * 60_000));
  const notAfter = new Date(now.getTime() + (opts.notAfterMs ?? 24 * 3600_000));
  const serial = nextSerial();
  const sans: x509.JsonGeneralName[] = [
    ...(opts.uriSans ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(opts.dnsSans ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipSans ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const usages: string[] = [];
  if (opts.serverAuth ?? true) usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (opts.clientAuth ?? true) usages.push(x509.ExtendedKeyUsage.clientAuth);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  // Istio workload certificates have an empty subject and a critical SAN extension.
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, !opts.commonName));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: opts.commonName ? `CN=${opts.commonName}${opts.organization ? `, O=${opts.organization}` : ''}` : '',
    issuer: ca.cert.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  const certPem = cert.toString('pem') + '\n';
  return { certPem, keyPem: await keyToPem(keys.privateKey), chainPem: certPem, serial, notBefore, notAfter };
}

/** SHA-256 of the DER certificate as lower-case hex without colons (Envoy's XFCC `Hash`). */
export function certSha256Hex(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/**
 * An intermediate CA signed by `parent` (what a plugged-in Istio `cacerts` holds): its chainPem
 * is the intermediate followed by the parent's chain. Certificates it issues chain through it.
 */
export async function createIntermediateCa(parent: Authority, name: string,
  opts: { organization?: string; notBeforeMs?: number; notAfterMs?: number; now?: Date } = {}): Promise<Authority> {
  const now = opts.now ?? new Date();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(now.getTime() + (opts.notBeforeMs ?? -60 * 60_000));
  const notAfter = new Date(now.getTime() + (opts.notAfterMs ?? 180 * 24 * 3600_000));
  const serial = nextSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${name}, O=${opts.organization ?? 'mesh-verify'}`,
    issuer: parent.cert.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: parent.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(parent.cert, false),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  return {
    name, keys, cert, certPem, chainPem: certPem + (parent.cert.subject === parent.cert.issuer ? '' : parent.chainPem),
    keyPem: await keyToPem(keys.privateKey), serial, notBefore, notAfter,
  };
}
