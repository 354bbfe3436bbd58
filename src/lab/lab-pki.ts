import { createRootCa, issueCertificate, type Authority, type IssuedCert } from '../pki/ca.js';
import { PUBLIC_HOST, type Workload } from '../topology/reference.js';
import type { MeshState } from './types.js';

/** Istio issues workload certificates for 24 h by default; the lab uses short ones. */
export const WORKLOAD_CERT_TTL_MS = 60 * 60_000;

/** What an istio-agent hands its Envoy over SDS: `default` (cert chain + key) and `ROOTCA`. */
export interface WorkloadIdentity {
  spiffeId: string;
  certPem: string;
  keyPem: string;
  chainPem: string;
  /** Trust bundle (ROOTCA) this proxy validates peers with. */
  rootPem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface LabPki {
  /** The mesh root (istiod's self-signed CA). */
  meshRoot: Authority;
  /** Another mesh's root (fault foreign-root). */
  foreignRoot: Authority;
  /** The public CA that issued the gateway credential; what an external client trusts. */
  externalCaPem: string;
  /** The CA of the NLB's own certificate (fault nlb-terminates-tls). */
  nlbCa: Authority;
  /** The Gateway's credential (Secret mesh-verify-credential): chain and key. */
  gatewayCredential: { chainPem: string; keyPem: string };
  nlbCertificate: IssuedCert;
}

/** A gateway credential given by the caller (the one stored in the lab's Kubernetes Secret). */
export interface GivenGatewayCredential {
  caPem: string;
  secret: { data: Record<string, string> };
}

export async function createLabPki(given?: GivenGatewayCredential): Promise<LabPki> {
  const [meshRoot, foreignRoot, externalCa, nlbCa] = await Promise.all([
    createRootCa('mesh-verify lab mesh root', { organization: 'cluster.local' }),
    createRootCa('foreign mesh root', { organization: 'other.mesh' }),
    createRootCa('mesh-verify lab external CA', { organization: 'mesh-verify external' }),
    createRootCa('lab load balancer CA', { organization: 'nlb' }),
  ]);
  const [issued, nlbCertificate] = await Promise.all([
    given ? null : issueCertificate(externalCa, { commonName: PUBLIC_HOST, dnsSans: [PUBLIC_HOST], clientAuth: false }),
    issueCertificate(nlbCa, { commonName: PUBLIC_HOST, dnsSans: [PUBLIC_HOST], clientAuth: false }),
  ]);
  const fromSecret = (key: string): string => Buffer.from(given?.secret.data[key] ?? '', 'base64').toString('utf8');
  const gatewayCredential = issued ? { chainPem: issued.chainPem, keyPem: issued.keyPem } : { chainPem: fromSecret('tls.crt'), keyPem: fromSecret('tls.key') };
  return { meshRoot, foreignRoot, externalCaPem: given?.caPem ?? externalCa.certPem, nlbCa, gatewayCredential, nlbCertificate };
}

export type CertCondition = MeshState['svcCert'];

/** A SPIFFE workload certificate as istiod would sign it (empty subject, critical URI SAN). */
export async function issueWorkloadIdentity(pki: LabPki, workload: Workload, condition: CertCondition = 'valid'): Promise<WorkloadIdentity> {
  const ca = condition === 'foreign-root' ? pki.foreignRoot : pki.meshRoot;
  const validity = condition === 'expired'
    ? { notBeforeMs: -2 * WORKLOAD_CERT_TTL_MS, notAfterMs: -WORKLOAD_CERT_TTL_MS }
    : { notBeforeMs: -60_000, notAfterMs: WORKLOAD_CERT_TTL_MS };
  const cert = await issueCertificate(ca, { uriSans: [workload.spiffeId], ...validity });
  return {
    spiffeId: workload.spiffeId,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    chainPem: cert.chainPem,
    rootPem: ca.certPem,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}
