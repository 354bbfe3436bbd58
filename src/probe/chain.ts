import type { DetailedPeerCertificate } from 'node:tls';
import type { ChainCertificate } from '../bundle/types.js';
import { decodeCertificates } from '../envoy/certificate.js';

/** A DER certificate as PEM text (64-character lines). */
export function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** One certificate as the bundle records it (decoded by the same code that reads Envoy's). */
export function describeCertificate(der: Buffer): ChainCertificate | null {
  const info = decodeCertificates(derToPem(der))[0];
  if (!info) return null;
  return {
    pem: info.pem, subject: info.subject, issuer: info.issuer, fingerprint256: info.fingerprint256,
    notAfter: info.notAfter, dnsSans: info.dnsSans, uriSans: info.uriSans,
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
    const c = describeCertificate(cur.raw);
    if (c) out.push(c);
    cur = cur.issuerCertificate;
  }
  return out;
}
