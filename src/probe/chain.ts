import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import type { ChainCertificate } from '../bundle/types.js';

/** A DER certificate as PEM text (64-character lines). */
export function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** SAN list as node:crypto prints it ('DNS:a, URI:spiffe://x') split by kind. */
export function splitSans(subjectAltName: string | undefined): { dns: string[]; uri: string[] } {
  const dns: string[] = [];
  const uri: string[] = [];
  for (const part of (subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4));
    else if (part.startsWith('URI:')) uri.push(part.slice(4));
  }
  return { dns, uri };
}

/** One certificate as the bundle records it. */
export function describeCertificate(der: Buffer): ChainCertificate {
  const x = new X509Certificate(der);
  const sans = splitSans(x.subjectAltName);
  return {
    pem: derToPem(der),
    // An empty subject (Istio workload certificates have none) reads as undefined.
    subject: (x.subject ?? '').replace(/\n/g, ', '),
    issuer: (x.issuer ?? '').replace(/\n/g, ', '),
    fingerprint256: x.fingerprint256.replace(/:/g, '').toLowerCase(),
    notAfter: new Date(x.validTo).toISOString(),
    dnsSans: sans.dns,
    uriSans: sans.uri,
  };
}

/**
 * The peer chain, leaf first, from tls getPeerCertificate(true). Node links each certificate to
 * its issuer and a self-signed one to itself; the walk stops at a repeat.
 */
export function describePeerChain(peer: DetailedPeerCertificate | null | undefined): ChainCertificate[] {
  const out: ChainCertificate[] = [];
  const seen = new Set<string>();
  let cur: DetailedPeerCertificate | undefined = peer && peer.raw ? peer : undefined;
  while (cur && cur.raw && !seen.has(cur.fingerprint256)) {
    seen.add(cur.fingerprint256);
    out.push(describeCertificate(cur.raw));
    cur = cur.issuerCertificate;
  }
  return out;
}
