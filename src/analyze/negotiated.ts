import 'reflect-metadata';
import { X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import type { EvidenceBundle, SegmentSpec } from '../bundle/types.js';
import { decodeCertificates, decodeX509 } from '../envoy/certificate.js';
import type { CertificateInfo } from '../envoy/types.js';
import type { ProxyFacts } from './proxy-facts.js';
import { statDelta } from '../envoy/stats.js';

/**
 * What each TLS or mTLS hop actually negotiated, and the certificates protecting it (issue 13 §1),
 * from what the run recorded: the client's own handshake for the edge, the receiving gateway's
 * access log (%DOWNSTREAM_TLS_VERSION% / %DOWNSTREAM_TLS_CIPHER%) for nlb->gateway, and the
 * caller's access log (%UPSTREAM_TLS_VERSION% / %UPSTREAM_TLS_CIPHER%) for mesh hops, with the
 * peer certificate from the client's chain or the receiving proxy's SDS `default` secret. Pure.
 */

/** A certificate, described the way an auditor's key inventory lists it. */
export interface CertificateSummary {
  fingerprint256: string;
  subject: string;
  spiffeId: string | null;
  issuer: string;
  serial: string;
  keyType: string;
  keySize: number | null;
  /** e.g. 'ECDSA with SHA-256', 'RSASSA-PKCS1-v1_5 with SHA-256', 'Ed25519'. */
  signatureAlgorithm: string;
  notAfter: string;
}

export interface NegotiatedHop {
  /** As the source spells it ('TLSv1.3'). */
  version: string | null;
  /** OpenSSL/BoringSSL name as Envoy logs it or IANA/OpenSSL name from node:tls. */
  cipher: string | null;
  /**
   * Key-exchange group: the client's own handshake at the edge; elsewhere Envoy's `ssl.curves.<name>`
   * counters (Envoy logs no group per connection): the one counted most during the run, null when
   * no handshake was counted (pooled connections) or the stats are not there.
   */
  group: string | null;
  /**
   * Every group Envoy counted on this hop's listener or cluster during the run, with its new
   * handshakes (stats only; several when connections were made with different groups).
   */
  groupHandshakes?: Record<string, number>;
  /** Where the group was read when not from `source`: 'stats <proxy> <prefix>ssl.curves.*'. */
  groupSource?: string;
  /** Where it was read: 'client_handshake', 'access_log <proxy>'. */
  source: string;
  /** How many of this run's requests agreed on these values (access-log sources). */
  requests?: number;
  /** The server's certificate on this hop (leaf), then the chain up to the root when known. */
  server: CertificateSummary[];
  /** The client's certificate (mTLS). */
  client: CertificateSummary[];
}

const CURVE_BITS: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/** A decoded certificate (src/envoy/certificate.ts) with its key and signature algorithm added. */
function describe(c: CertificateInfo): CertificateSummary | null {
  try {
    const key = decodeX509(c.pem).publicKey;
    const details = key.asymmetricKeyDetails ?? {};
    const keyType = key.asymmetricKeyType === 'ec' ? `EC ${details.namedCurve ?? ''}`.trim() : (key.asymmetricKeyType ?? 'unknown').toUpperCase();
    const keySize = details.modulusLength ?? (details.namedCurve ? CURVE_BITS[details.namedCurve] ?? null : null);
    const alg = new PeculiarCertificate(c.pem).signatureAlgorithm as { name: string; hash?: { name: string } };
    return {
      fingerprint256: c.fingerprint256, subject: c.subject, spiffeId: c.spiffeId, issuer: c.issuer, serial: c.serial,
      keyType, keySize, signatureAlgorithm: alg.hash ? `${alg.name} with ${alg.hash.name}` : alg.name, notAfter: c.notAfter,
    };
  } catch {
    return null;
  }
}

const summaries = (certs: CertificateInfo[]): CertificateSummary[] => certs.map(describe).filter((c): c is CertificateSummary => c !== null);

/** The most frequent (version, cipher) pair of a proxy's run entries. */
function fromEntries(p: ProxyFacts, pick: (e: ProxyFacts['access'][number]) => [string | null | undefined, string | null | undefined] | null): { version: string; cipher: string | null; requests: number } | null {
  const counts = new Map<string, { version: string; cipher: string | null; requests: number }>();
  for (const e of p.access) {
    const v = pick(e);
    if (!v || !v[0] || v[0] === '-') continue;
    const key = `${v[0]}|${v[1] ?? ''}`;
    const c = counts.get(key) ?? { version: v[0], cipher: v[1] && v[1] !== '-' ? v[1] : null, requests: 0 };
    c.requests += 1;
    counts.set(key, c);
  }
  return [...counts.values()].sort((a, b) => b.requests - a.requests)[0] ?? null;
}

/** Chain (leaf first) of a proxy's workload certificate and its root. */
function workloadChain(p: ProxyFacts | undefined): CertificateInfo[] {
  if (!p?.workloadCert) return [];
  const chain = p.workloadCert.chain;
  const root = p.roots[0];
  return root && !chain.some((c) => c.fingerprint256 === root.fingerprint256) ? [...chain, root] : chain;
}

/**
 * The groups of the handshakes a listener or cluster made for this run, from its
 * `ssl.curves.<name>` counters (Envoy's SslStats, per TLS context owner): their deltas during the
 * run; when the run made no new handshake there (its requests rode a pooled connection), the
 * counters since the proxy started, but only when they name one group (every handshake ever
 * counted there used it, so the pooled connection did too). `prefixes`: the names the owner's
 * stats may have (a cluster with alt_stat_name ends in `;`).
 */
function curvesOfRun(p: ProxyFacts | undefined, prefixes: string[]): { counts: Record<string, number>; prefix: string; pooled: boolean } | null {
  const before = p?.statsBefore;
  const after = p?.statsAfter;
  if (!p || !before || !after) return null;
  for (const prefix of prefixes) {
    const head = `${prefix}ssl.curves.`;
    const names = [...after.keys()].filter((n) => n.startsWith(head));
    if (names.length === 0) continue;
    const delta: Record<string, number> = {};
    const total: Record<string, number> = {};
    for (const name of names) {
      const d = statDelta(before, after, name);
      if (d !== null && d > 0) delta[name.slice(head.length)] = d;
      const t = after.get(name) ?? 0;
      if (t > 0) total[name.slice(head.length)] = t;
    }
    if (Object.keys(delta).length > 0) return { counts: delta, prefix, pooled: false };
    if (Object.keys(total).length === 1) return { counts: total, prefix, pooled: true };
    return null;
  }
  return null;
}

function groupFrom(p: ProxyFacts | undefined, prefixes: string[]): Pick<NegotiatedHop, 'group' | 'groupHandshakes' | 'groupSource'> {
  const got = curvesOfRun(p, prefixes);
  if (!got || !p) return { group: null };
  const [top] = Object.entries(got.counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const when = got.pooled ? ' (no new handshake during the run: the only group counted since the proxy started)' : '';
  return { group: top![0], groupHandshakes: got.counts, groupSource: `stats ${p.id} ${got.prefix}ssl.curves.*${when}` };
}

export interface NegotiationContext {
  bundle: EvidenceBundle;
  proxies: Map<string, ProxyFacts>;
  /** PathNode id -> proxy id (null for apps, the client, the NLB). */
  proxyOf(nodeId: string): string | null;
}

export function negotiatedFor(ctx: NegotiationContext, seg: SegmentSpec): NegotiatedHop | null {
  if (seg.expect === 'plaintext' || seg.hints.loopback) return null;
  const fromProxy = ctx.proxyOf(seg.from);
  const toProxy = ctx.proxyOf(seg.to);
  const client = ctx.bundle.client;
  const clientChain = summaries((client?.peerChain ?? []).flatMap((c) => decodeCertificates(c.pem)));
  if (!fromProxy && !toProxy) {
    // client -> NLB: what the client's own handshake negotiated.
    if (!client?.tlsVersion) return null;
    return { version: client.tlsVersion, cipher: client.cipher, group: client.group ?? null, source: 'client_handshake', server: clientChain, client: [] };
  }
  if (!fromProxy && toProxy) {
    // NLB -> gateway: the gateway's downstream side.
    const gw = ctx.proxies.get(toProxy);
    const got = gw ? fromEntries(gw, (e) => [e.downstreamTlsVersion, e.downstreamTlsCipher]) : null;
    if (!got) return null;
    const group = seg.hints.listener ? groupFrom(gw, [`listener.${seg.hints.listener}.`]) : { group: null };
    return { version: got.version, cipher: got.cipher, ...group, source: `access_log ${toProxy}`, requests: got.requests, server: clientChain, client: [] };
  }
  const from = fromProxy ? ctx.proxies.get(fromProxy) : undefined;
  const to = toProxy ? ctx.proxies.get(toProxy) : undefined;
  if (!from || !seg.hints.cluster) return null;
  const cluster = seg.hints.cluster;
  const got = fromEntries(from, (e) => (e.upstreamCluster === cluster ? [e.upstreamTlsVersion, e.upstreamTlsCipher] : null));
  if (!got) return null;
  // The calling side's cluster: its handshakes are this hop's (the receiver's listener also counts other callers').
  const group = groupFrom(from, [`cluster.${cluster};.`, `cluster.${cluster}.`]);
  return {
    version: got.version, cipher: got.cipher, ...group, source: `access_log ${from.id}`, requests: got.requests,
    server: summaries(workloadChain(to)), client: summaries(workloadChain(from)),
  };
}

/** Every certificate protecting a hop, once, with the hops it protects (the auditor's inventory). */
export interface CryptoInventoryEntry extends CertificateSummary {
  /** As a hop's server leaf, client leaf, or as a CA in a chain (one certificate can be several). */
  roles: ('server' | 'client' | 'chain')[];
  protects: string[];
}

export function cryptoInventory(negotiated: { segment: string; tls: NegotiatedHop }[]): CryptoInventoryEntry[] {
  const byFp = new Map<string, CryptoInventoryEntry>();
  for (const { segment, tls } of negotiated) {
    const add = (certs: CertificateSummary[], leafRole: 'server' | 'client') => certs.forEach((c, i) => {
      const e = byFp.get(c.fingerprint256) ?? { ...c, roles: [], protects: [] };
      const role = i === 0 ? leafRole : 'chain';
      if (!e.roles.includes(role)) e.roles.push(role);
      if (!e.protects.includes(segment)) e.protects.push(segment);
      byFp.set(c.fingerprint256, e);
    });
    add(tls.server, 'server');
    add(tls.client, 'client');
  }
  return [...byFp.values()];
}

/** The certificate key as the policy names it (`RSA` with bits, `ECDSA-P256`, `Ed25519`). */
export function policyKeyAlgorithm(c: CertificateSummary | undefined): { keyAlgorithm: string | null; keyBits: number | null } {
  if (!c) return { keyAlgorithm: null, keyBits: null };
  if (c.keyType.startsWith('EC')) return { keyAlgorithm: c.keySize ? `ECDSA-P${c.keySize}` : null, keyBits: c.keySize };
  if (c.keyType === 'RSA') return { keyAlgorithm: 'RSA', keyBits: c.keySize };
  if (c.keyType === 'ED25519') return { keyAlgorithm: 'Ed25519', keyBits: null };
  return { keyAlgorithm: c.keyType, keyBits: c.keySize };
}
