import { X509Certificate } from 'node:crypto';
import type { CertificateInfo } from './types.js';
import { splitOutsideQuotes } from './quoted-split.js';
import { BoundedMap } from '../util/bounded-map.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The last decodes, by PEM block: inspecting a proxy and then judging its chain read it twice. */
const recentX509 = new BoundedMap<string, X509Certificate>(256);

/**
 * One PEM block as a node:crypto X509Certificate (throws when it does not decode). Recent blocks
 * are remembered (X509Certificate is immutable), so that describing a certificate and verifying
 * its chain soon after decode it once.
 */
export function decodeX509(block: string): X509Certificate {
  let cert = recentX509.get(block);
  if (!cert) {
    cert = new X509Certificate(block);
    recentX509.set(block, cert);
  }
  return cert;
}

/**
 * Decode every certificate of a PEM bundle (leaf first, in file order) with node:crypto.
 * Blocks that do not decode are skipped; text without a PEM block gives []. One parameter only,
 * so that `pems.flatMap(decodeCertificates)` works.
 */
export function decodeCertificates(pem: string): CertificateInfo[] {
  return decodeCertificatesSharing(pem);
}

/** decodeCertificates, sharing decodes of identical blocks between calls through `seen`. */
export function decodeCertificatesSharing(pem: string, seen?: Map<string, CertificateInfo>): CertificateInfo[] {
  const out: CertificateInfo[] = [];
  for (const block of pem.match(PEM_BLOCK) ?? []) {
    // Decoding is the costly part of inspecting a dump; callers may share decodes of a block
    // (a workload chain repeats the root of ROOTCA). Copies keep the results independent.
    const known = seen?.get(block);
    if (known) {
      out.push({ ...known, uriSans: [...known.uriSans], dnsSans: [...known.dnsSans] });
      continue;
    }
    let info: CertificateInfo;
    try {
      // A certificate whose validity dates do not parse is treated like one that does not decode.
      info = describeCertificate(decodeX509(block), block);
    } catch {
      continue;
    }
    seen?.set(block, info);
    out.push(seen ? { ...info, uriSans: [...info.uriSans], dnsSans: [...info.dnsSans] } : info);
  }
  return out;
}

function isoDate(text: string): string {
  const t = new Date(text);
  if (Number.isNaN(t.getTime())) throw new Error(`unparsable certificate date ${JSON.stringify(text.slice(0, 40))}`);
  return t.toISOString();
}

function describeCertificate(cert: X509Certificate, pem: string): CertificateInfo {
  const { uriSans, dnsSans } = splitSubjectAltName(cert.subjectAltName);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    serial: cert.serialNumber.toUpperCase(),
    notBefore: isoDate(cert.validFrom),
    notAfter: isoDate(cert.validTo),
    uriSans,
    dnsSans,
    spiffeId: uriSans.find((u) => u.startsWith('spiffe://')) ?? null,
    isCa: cert.ca,
    fingerprint256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
    pem: `${pem.trim()}\n`,
  };
}

/** node:crypto prints subjects one attribute per line; keep them on one line, comma separated. */
function oneLine(dn: string | undefined): string {
  if (!dn) return '';
  return dn.split('\n').filter(Boolean).join(', ');
}

/** Parse node's `subjectAltName` ("DNS:a, URI:spiffe://..., IP Address:..."), quoted values included. */
export function splitSubjectAltName(san: string | undefined): { uriSans: string[]; dnsSans: string[] } {
  const uriSans: string[] = [];
  const dnsSans: string[] = [];
  if (!san) return { uriSans, dnsSans };
  for (const entry of splitOutsideQuotes(san, ',')) {
    const idx = entry.indexOf(':');
    if (idx < 0) continue;
    const kind = entry.slice(0, idx).trim();
    let value = entry.slice(idx + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        value = value.slice(1, -1);
      }
    }
    if (kind === 'URI') uriSans.push(value);
    else if (kind === 'DNS') dnsSans.push(value);
  }
  return { uriSans, dnsSans };
}

/**
 * Does the first certificate of `leafPem` chain, through the intermediates that follow it in the
 * same PEM, to one of `rootPems`? Checks issuer names, signatures and that each issuer is a CA.
 * Validity dates are not checked here (expiry is reported separately).
 */
export function chainsTo(leafPem: string, rootPems: string[]): boolean {
  const chain = parseAll(leafPem);
  if (chain.length === 0) return false;
  const roots = rootPems.flatMap(parseAll);
  if (roots.length === 0) return false;
  const pool = [...chain.slice(1), ...roots];
  let current = chain[0];
  for (let depth = 0; depth <= pool.length; depth++) {
    for (const root of roots) {
      if (signedBy(current, root)) return true;
    }
    const next = pool.find((c) => c !== current && !roots.includes(c) && signedBy(current, c));
    if (!next) return false;
    current = next;
  }
  return false;
}

function parseAll(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of pem.match(PEM_BLOCK) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // not a certificate: ignore
    }
  }
  return out;
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  if (!issuer.ca) return false;
  if (cert.issuer !== issuer.subject) return false;
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}
