import type { KubernetesObject } from '@kubernetes/client-node';
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
