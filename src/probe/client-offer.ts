import { createSecureContext } from 'node:tls';
import { UsageError } from '../core/errors.js';
import { opensslCipherName } from '../analyze/tls-names.js';

/**
 * What the external client offers in its ClientHello (`path --tls-groups` / `--tls-ciphers`):
 * null fields leave node:tls's defaults (OpenSSL's, X25519 first). Checked against the OpenSSL
 * node runs on, so a name it cannot offer is a usage error (exit 2) before any work.
 */
export interface ClientOffer {
  /** Key-exchange groups, in order (node:tls `ecdhCurve`, OpenSSL names: P-256, P-384, X25519). */
  groups: string[] | null;
  /**
   * Cipher suites, in order (node:tls `ciphers`: TLS 1.3 `TLS_*` names and TLS 1.2 OpenSSL names).
   * node:tls keeps its default TLS 1.3 suites when the list names none of them.
   */
  ciphers: string[] | null;
}

const split = (text: string): string[] => text.split(/[:,\s]+/).map((x) => x.trim()).filter(Boolean);

function tryContext(opts: { ecdhCurve?: string; ciphers?: string }): string | null {
  try {
    createSecureContext(opts);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export function parseClientOffer(raw: { tlsGroups?: string; tlsCiphers?: string }): ClientOffer {
  let groups: string[] | null = null;
  let ciphers: string[] | null = null;
  if (raw.tlsGroups !== undefined) {
    groups = split(raw.tlsGroups);
    const bad = groups.filter((g) => tryContext({ ecdhCurve: g }) !== null);
    if (groups.length === 0 || bad.length > 0) {
      throw new UsageError(`--tls-groups: ${groups.length === 0 ? 'no group given' : `this client (Node ${process.versions.node}, OpenSSL ${process.versions.openssl}) cannot offer ${bad.map((b) => `"${b}"`).join(', ')}`}`,
        'give OpenSSL group names separated by ":", e.g. --tls-groups P-256:P-384 (Node 20\'s OpenSSL 3.0 has no ML-KEM groups; Node 24\'s OpenSSL 3.5 has X25519MLKEM768)');
    }
  }
  if (raw.tlsCiphers !== undefined) {
    const given = split(raw.tlsCiphers);
    // IANA names (as a policy writes them) are accepted and passed to OpenSSL by its own names.
    const named = given.map((c) => opensslCipherName(c) ?? c);
    const bad = given.filter((_c, i) => tryContext({ ciphers: named[i]! }) !== null);
    if (given.length === 0 || bad.length > 0) {
      throw new UsageError(`--tls-ciphers: ${given.length === 0 ? 'no cipher suite given' : `this client (OpenSSL ${process.versions.openssl}) does not know ${bad.map((b) => `"${b}"`).join(', ')}`}`,
        'give cipher suites separated by ":", IANA or OpenSSL names, e.g. --tls-ciphers TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-AES128-GCM-SHA256');
    }
    ciphers = named;
  }
  return { groups, ciphers };
}

/** The node:tls options that make the client offer exactly this. */
export function offerTlsOptions(offer: ClientOffer | undefined): { ecdhCurve?: string; ciphers?: string } {
  return {
    ...(offer?.groups ? { ecdhCurve: offer.groups.join(':') } : {}),
    ...(offer?.ciphers ? { ciphers: offer.ciphers.join(':') } : {}),
  };
}
