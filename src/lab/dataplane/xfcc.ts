/**
 * x-forwarded-client-cert as an Istio sidecar's inbound HTTP connection manager sets it:
 * forward_client_cert_details APPEND_FORWARD with set_current_client_cert_details
 * {subject, uri, dns}. On an mTLS connection Envoy appends
 * `By=<own URI SAN>;Hash=<sha256 of the peer cert>;Subject="<peer subject>";URI=<peer URI SAN>`;
 * on a connection without a client certificate it removes any incoming XFCC (a plaintext
 * caller cannot forge one). Gateways use SANITIZE_SET: without a client cert, removed.
 */
export interface PeerCertificateFacts {
  uriSans: string[];
  dnsSans: string[];
  subject: string;
  sha256: string;
}

function xfccElement(ownUriSan: string, peer: PeerCertificateFacts): string {
  const parts = [`By=${ownUriSan}`, `Hash=${peer.sha256}`, `Subject="${peer.subject.replace(/"/g, '\\"')}"`];
  for (const uri of peer.uriSans) parts.push(`URI=${uri}`);
  for (const dns of peer.dnsSans) parts.push(`DNS=${dns}`);
  return parts.join(';');
}

export type XfccMode = 'APPEND_FORWARD' | 'SANITIZE_SET';

/** The XFCC value to send upstream, or null to send none. */
export function nextXfcc(mode: XfccMode, incoming: string | undefined, ownUriSan: string | null, peer: PeerCertificateFacts | null): string | null {
  if (!peer || !ownUriSan) return null;
  const element = xfccElement(ownUriSan, peer);
  if (mode === 'APPEND_FORWARD' && incoming) return `${incoming},${element}`;
  return element;
}
