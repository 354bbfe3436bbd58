import type { ProxyPosture } from '../envoy/types.js';

/** What `mesh-verify inspect` prints with -o json: the ProxyPosture contract plus optional facts. */
export interface InspectResult extends ProxyPosture {
  /** Present with --certs: what Envoy's /certs reports, matched to the SDS secrets. */
  certificates?: CertificateFacts;
  /** Present with --stats: TLS counters per listener and cluster. */
  stats?: StatsFacts;
}

export interface CertificateFacts {
  entries: {
    role: 'ca' | 'chain';
    serialNumber: string | null;
    uriSans: string[];
    /** Whole days from --now (default: the current time) to the expiry; negative once expired;
     *  null when the expiry is unknown. Never the captured value. */
    daysUntilExpiration: number | null;
    /** Added: expired at --now (null when the expiry is unknown). */
    expired: boolean | null;
    /** Added: `days_until_expiration` as Envoy reported it when the capture was taken. */
    capturedDaysUntilExpiration: number | null;
    expirationTime: string | null;
    /** Name of the config-dump secret holding a certificate with the same serial, or null. */
    secret: string | null;
  }[];
  /** The smallest daysUntilExpiration (computed at --now) of any certificate, or null. */
  minDaysUntilExpiration: number | null;
}

export interface TlsCounter {
  /** Listener stat prefix (e.g. '0.0.0.0_8443') or cluster name. */
  name: string;
  handshakes: number;
  connectionErrors: number;
  /** Clusters only: peer SAN or chain verification failures. */
  verifyFailures?: number;
  controlPlane?: boolean;
}

export interface StatsFacts {
  statCount: number;
  /** Any ssl.* stat outside the control plane (xds-grpc etc.)? Istio's default stats inclusion
   *  creates none, so false here is no evidence of plaintext. */
  dataPlaneSslStats: boolean;
  listeners: TlsCounter[];
  clusters: TlsCounter[];
  notes: string[];
}
