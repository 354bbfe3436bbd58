import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { chainsTo } from '../envoy/certificate.js';
import { createRootCa, issueCertificate } from '../pki/ca.js';
import { GATEWAY_CREDENTIAL, GATEWAY_NAMESPACE, MESH_NAMESPACE, PUBLIC_HOST } from './reference.js';

/**
 * The public CA of the gateway credential, kept beside the topology so that a later
 * `path --no-deploy` can verify the gateway's certificate (the Secret holds the key; this does not).
 */
export const GATEWAY_CA_CONFIGMAP = 'mesh-verify-gateway-ca';

export function gatewayCaConfigMap(caPem: string): KubernetesObject & { data: Record<string, string> } {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: GATEWAY_CA_CONFIGMAP, namespace: MESH_NAMESPACE },
    data: { 'ca.crt': caPem },
  };
}

export interface GatewayCredential {
  /** kubernetes.io/tls Secret istio-system/mesh-verify-credential (holds the private key: never log it). */
  secret: KubernetesObject & { type: string; data: Record<string, string> };
  /** The external CA's certificate: what the probe trusts for the gateway. */
  caPem: string;
  /** The gateway's server certificate (leaf) PEM. */
  serverCertPem: string;
}

const DAY_MS = 24 * 3600_000;

/**
 * The gateway's external TLS credential: a fresh CA (standing in for a public CA) and a server
 * certificate for the public host, stored as the kubernetes.io/tls Secret the Gateway's
 * credentialName points at.
 */
export async function createGatewayCredential(opts: { host?: string; name?: string; namespace?: string; now?: Date } = {}):
  Promise<GatewayCredential> {
  const host = opts.host ?? PUBLIC_HOST;
  const ca = await createRootCa('mesh-verify external CA', { organization: 'mesh-verify', notAfterMs: 365 * DAY_MS, now: opts.now });
  const leaf = await issueCertificate(ca, {
    commonName: host, dnsSans: [host], serverAuth: true, clientAuth: false, notAfterMs: 90 * DAY_MS, now: opts.now,
  });
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    secret: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: opts.name ?? GATEWAY_CREDENTIAL, namespace: opts.namespace ?? GATEWAY_NAMESPACE },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(leaf.chainPem), 'tls.key': b64(leaf.keyPem) },
    },
    caPem: ca.certPem,
    serverCertPem: leaf.certPem,
  };
}

/** A stored credential is reused only while it has at least this many days left. */
export const CREDENTIAL_REUSE_MIN_DAYS = 14;

/** SHA-256 of a PEM certificate's DER, lower-case hex without colons (as the probe records it). */
export function leafSha256(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/**
 * Can the credential an earlier run stored be used again? Reusing it means the gateway already
 * serves it, so no SDS push has to reach the gateway before the probe. It must: hold a
 * certificate and its key (which match), not expire within `minDays`, cover `host`, and chain to
 * the stored CA (the one the probe trusts). Otherwise `reason` says why a new one is made.
 */
export function storedCredential(o: {
  secret: { metadata?: { name?: string; namespace?: string }; data?: Record<string, string> } | null;
  caPem: string | null; host: string; now?: Date; minDays?: number;
}): { credential: GatewayCredential; reason: null } | { credential: null; reason: string } {
  const no = (reason: string) => ({ credential: null, reason });
  if (!o.secret) return no('no credential stored yet');
  const decode = (k: string) => (o.secret!.data?.[k] ? Buffer.from(o.secret!.data[k], 'base64').toString('utf8') : '');
  const chainPem = decode('tls.crt');
  const keyPem = decode('tls.key');
  if (!chainPem || !keyPem) return no('the stored Secret lacks tls.crt or tls.key');
  if (!o.caPem) return no('the CA of the stored credential is not stored beside it');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chainPem);
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return no('the stored key does not belong to the stored certificate');
  } catch (err) {
    return no(`the stored credential does not decode (${(err as Error).message})`);
  }
  const now = o.now ?? new Date();
  const daysLeft = (new Date(leaf.validTo).getTime() - now.getTime()) / DAY_MS;
  const minDays = o.minDays ?? CREDENTIAL_REUSE_MIN_DAYS;
  if (daysLeft < minDays) return no(`the stored certificate ${daysLeft < 0 ? 'has expired' : `expires in ${Math.floor(daysLeft)} days (less than ${minDays})`}`);
  if (leaf.checkHost(o.host) === undefined) return no(`the stored certificate does not cover ${o.host}`);
  if (!chainsTo(chainPem, [o.caPem])) return no('the stored certificate was not issued by the stored CA');
  return {
    reason: null,
    credential: {
      secret: {
        apiVersion: 'v1', kind: 'Secret',
        metadata: { name: o.secret.metadata?.name ?? GATEWAY_CREDENTIAL, namespace: o.secret.metadata?.namespace ?? GATEWAY_NAMESPACE },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': o.secret.data!['tls.crt'], 'tls.key': o.secret.data!['tls.key'] },
      },
      caPem: o.caPem,
      serverCertPem: leaf.toString(),
    },
  };
}
