import { createIntermediateCa, createRootCa, issueCertificate, type Authority } from '../../pki/ca.js';
import type { CertVariant, FleetPlan, ProxySpec } from './plan.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** PEMs one proxy serves: its workload chain (leaf first) and its trust bundle (ROOTCA). */
export interface ProxyCerts {
  chainPem: string;
  rootPem: string;
}

export interface FleetPki {
  /** Current mesh root (what istio-ca-root-cert holds). */
  root: Authority;
  /** Root from before the rotation: stale proxies still use it. */
  oldRoot: Authority;
  intermediate: Authority;
  externalCa: Authority;
  certsFor(p: ProxySpec): ProxyCerts;
  /** Gateway credential chain by credential name (missing Secrets are absent). */
  gatewayCredentials: Map<string, string>;
}

/**
 * The fleet's certificates: a current root with an intermediate (plugged-in CA), an old root
 * (before a rotation), one workload certificate per service account (shared by its replicas)
 * and one per problem proxy. Issued concurrently to keep start-up short.
 */
export async function createFleetPki(plan: FleetPlan, now = new Date()): Promise<FleetPki> {
  const [root, oldRoot, externalCa] = await Promise.all([
    createRootCa('mesh-verify fleet root 2025', { notBeforeMs: -30 * DAY, notAfterMs: 3650 * DAY, now }),
    createRootCa('mesh-verify fleet root 2021', { notBeforeMs: -1400 * DAY, notAfterMs: 2200 * DAY, now }),
    createRootCa('mesh-verify fleet external CA', { now }),
  ]);
  const intermediate = await createIntermediateCa(root, 'mesh-verify fleet intermediate', {
    notBeforeMs: -300 * DAY, notAfterMs: plan.intermediateExpiresInDays * DAY + 12 * HOUR, now,
  });
  const byKey = new Map<string, Promise<string>>();
  const keyOf = (p: ProxySpec) => (p.cert === 'current' ? `${p.namespace}/${p.serviceAccount}` : `${p.namespace}/${p.name}`);
  const issue = async (p: ProxySpec): Promise<string> => {
    const v = validity(p.cert);
    const ca = p.cert === 'stale-root' ? oldRoot : intermediate;
    const leaf = await issueCertificate(ca, {
      uriSans: [`spiffe://cluster.local/ns/${p.namespace}/sa/${p.serviceAccount}`], notBeforeMs: v.notBeforeMs, notAfterMs: v.notAfterMs, now,
    });
    return leaf.certPem + (ca === intermediate ? intermediate.chainPem : '');
  };
  for (const p of plan.proxies) {
    const k = keyOf(p);
    if (!byKey.has(k)) byKey.set(k, issue(p));
  }
  const chains = new Map<string, string>();
  await Promise.all([...byKey].map(async ([k, pr]) => chains.set(k, await pr)));
  const gatewayCredentials = new Map<string, string>();
  await Promise.all(plan.gatewayCredentials.filter((c) => c.dnsSans !== null).map(async (c) => {
    const cert = await issueCertificate(externalCa, { commonName: c.dnsSans![0], dnsSans: c.dnsSans!, notAfterMs: c.expiresInDays * DAY + 12 * HOUR, clientAuth: false, now });
    gatewayCredentials.set(c.name, cert.certPem);
  }));
  return {
    root, oldRoot, intermediate, externalCa, gatewayCredentials,
    certsFor: (p) => ({ chainPem: chains.get(keyOf(p))!, rootPem: p.cert === 'stale-root' ? oldRoot.certPem : root.certPem }),
  };
}

function validity(v: CertVariant): { notBeforeMs: number; notAfterMs: number } {
  switch (v) {
    case 'expired': return { notBeforeMs: -26 * HOUR, notAfterMs: -2 * HOUR };
    case 'not-rotated': return { notBeforeMs: -22 * HOUR, notAfterMs: 2 * HOUR };
    default: return { notBeforeMs: -3 * HOUR, notAfterMs: 21 * HOUR };
  }
}
