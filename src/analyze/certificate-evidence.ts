import type { CertificateInfo, SecretInfo } from '../envoy/types.js';
import { chainsTo } from '../envoy/certificate.js';
import type { Observation } from './observation.js';
import type { ProxyFacts } from './proxy-facts.js';

const DAY_MS = 24 * 3600_000;

export function chainPem(secret: SecretInfo): string {
  return secret.chain.map((c) => c.pem.trim()).join('\n') + '\n';
}

export function leafOf(secret: SecretInfo | null): CertificateInfo | null {
  return secret?.chain[0] ?? null;
}

/** '3650 days', '17 hours', '40 minutes'. */
export function timeLeft(cert: CertificateInfo, now: Date): string {
  const ms = new Date(cert.notAfter).getTime() - now.getTime();
  if (ms >= 2 * DAY_MS) return `${Math.floor(ms / DAY_MS)} days`;
  if (ms >= 2 * 3600_000) return `${Math.floor(ms / 3600_000)} hours`;
  return `${Math.max(0, Math.floor(ms / 60_000))} minutes`;
}

/**
 * Is a (not yet expired) certificate expiring soon enough to report? Within `warnDays`, and past
 * half of its lifetime: Istio workload certificates live 24 h and istio-agent renews them at about
 * half-life, so a healthy one is always "within 30 days" but never past half-life for long.
 */
export function expiringSoon(cert: CertificateInfo, now: Date, warnDays: number): boolean {
  const notAfter = new Date(cert.notAfter).getTime();
  const left = notAfter - now.getTime();
  if (left <= 0 || left >= warnDays * DAY_MS) return false;
  const lifetime = notAfter - new Date(cert.notBefore).getTime();
  return !(lifetime > 0 && left > lifetime / 2);
}

/**
 * Identity-level checks of one side of an mTLS hop, read from its config dump: the workload
 * certificate (SDS `default`) carries the expected SPIFFE id, has not expired, and chains to the
 * ROOTCA of the proxy that must verify it. An expired or foreign certificate contradicts the hop.
 */
export function workloadCertChecks(p: ProxyFacts, expectedId: string | undefined, verifier: ProxyFacts | undefined, role: 'client' | 'server', now: Date): Observation[] {
  const base = { level: 'identity' as const, proxy: p.id, source: 'config_dump' };
  const leaf = leafOf(p.workloadCert);
  if (!p.workloadCert || !leaf) {
    return p.posture ? [{ ...base, subject: 'secret default', observed: 'no workload certificate in the config dump', indicates: null }] : [];
  }
  const out: Observation[] = [];
  if (expectedId) {
    const ok = leaf.spiffeId === expectedId;
    out.push({
      ...base, subject: 'secret default: URI SAN', observed: leaf.spiffeId ?? '(no SPIFFE id)', expected: expectedId, effect: ok ? 'supports' : 'contradicts',
      ...(ok ? {} : { headline: `${role} certificate of ${p.id} is ${leaf.spiffeId ?? 'without SPIFFE id'}, not ${expectedId}` }),
    });
  }
  if (new Date(leaf.notAfter).getTime() <= now.getTime()) {
    out.push({
      ...base, subject: 'secret default: notAfter', observed: `${leaf.notAfter} (expired)`, effect: 'contradicts',
      note: `an expired ${role} certificate cannot establish mTLS on this hop`, headline: `the ${role} certificate of ${p.id} expired on ${leaf.notAfter.slice(0, 10)}`,
    });
  } else {
    out.push({ ...base, subject: 'secret default: notAfter', observed: `${leaf.notAfter} (${timeLeft(leaf, now)} left)`, effect: 'neutral' });
  }
  if (verifier && verifier !== p && verifier.roots.length > 0) {
    const ok = chainsTo(chainPem(p.workloadCert), verifier.roots.map((r) => r.pem));
    out.push({
      ...base, subject: `secret default: chain to ROOTCA of ${verifier.id}`,
      observed: ok ? `chains to ${verifier.roots.map((r) => r.subject).join(' | ')}` : `issued by ${leaf.issuer}, not by ROOTCA of ${verifier.id}`,
      effect: ok ? 'supports' : 'contradicts',
      ...(ok ? {} : { headline: `the ${role} certificate of ${p.id} does not chain to the ROOTCA of ${verifier.id}` }),
    });
  }
  return out;
}
