import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { PeerCertificateFacts } from './xfcc.js';
import { splitSubjectAltName } from '../../envoy/certificate.js';

/** RFC 2253 order, as Envoy prints %DOWNSTREAM_PEER_SUBJECT% and XFCC Subject. */
function rfc2253(x509Subject: string | undefined): string {
  return (x509Subject ?? '').split('\n').filter(Boolean).reverse().join(',');
}

/** The peer certificate of a TLS connection, or null when the peer presented none. */
export function peerCertificateFacts(socket: TLSSocket): PeerCertificateFacts | null {
  const cert = socket.getPeerCertificate(false);
  if (!cert || !cert.raw) return null;
  const { uriSans, dnsSans } = splitSubjectAltName(cert.subjectaltname);
  return {
    uriSans,
    dnsSans,
    subject: rfc2253(new X509Certificate(cert.raw).subject),
    sha256: createHash('sha256').update(cert.raw).digest('hex'),
  };
}

/**
 * Verify a client's certificate against this proxy's trust bundle the way Envoy's default
 * certificate validator does for Istio's inbound chains: chain to ROOTCA, within validity, and
 * a URI SAN with the mesh's trust-domain prefix. Returns an OpenSSL-style error code or null.
 */
export function verifyPeerCertificate(socket: TLSSocket, rootPem: string, sanPrefix: string, now = Date.now()): string | null {
  const peer = socket.getPeerCertificate(true);
  if (!peer || !peer.raw) return 'NO_PEER_CERTIFICATE';
  const leaf = new X509Certificate(peer.raw);
  const roots = (rootPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
  // Intermediates the peer sent (leaf first), then our roots.
  const chain: X509Certificate[] = [leaf];
  let cur: typeof peer | undefined = peer;
  while (cur?.issuerCertificate && cur.issuerCertificate !== cur && chain.length < 5) {
    cur = cur.issuerCertificate;
    chain.push(new X509Certificate(cur.raw));
  }
  let anchored = false;
  for (let i = 0; i < chain.length && !anchored; i++) {
    const cert = chain[i]!;
    const root = roots.find((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
    if (root) anchored = true;
    else if (!(chain[i + 1] && cert.checkIssued(chain[i + 1]!) && cert.verify(chain[i + 1]!.publicKey))) break;
  }
  if (!anchored) return 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY';
  if (new Date(leaf.validTo).getTime() < now) return 'CERT_HAS_EXPIRED';
  if (new Date(leaf.validFrom).getTime() > now) return 'CERT_NOT_YET_VALID';
  const { uriSans } = splitSubjectAltName(leaf.subjectAltName);
  if (!uriSans.some((u) => u.startsWith(sanPrefix))) return 'SAN_MISMATCH';
  return null;
}
