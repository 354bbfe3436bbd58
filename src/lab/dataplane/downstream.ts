import type { PeerCertificateFacts } from './xfcc.js';

/** What Envoy knows about a downstream connection (for XFCC, access log and metrics). */
export interface DownstreamFacts {
  localAddress: string;
  remoteAddress: string;
  /** Negotiated TLS version ('TLSv1.3') or null for plaintext. */
  tlsVersion: string | null;
  sni: string | null;
  peer: PeerCertificateFacts | null;
  /** This proxy's URI SAN presented on the connection (null for plaintext). */
  localUriSan: string | null;
}

const FACTS = new WeakMap<object, DownstreamFacts>();

export function setDownstreamFacts(socket: object, facts: DownstreamFacts): void {
  FACTS.set(socket, facts);
}

export function downstreamFactsOf(socket: object): DownstreamFacts {
  return FACTS.get(socket) ?? { localAddress: '-', remoteAddress: '-', tlsVersion: null, sni: null, peer: null, localUriSan: null };
}
