import { parse as parseYaml } from 'yaml';
import { canonicalCipher, canonicalGroup, canonicalKeyAlgorithm, canonicalSigalg, canonicalVersion } from './tls-names.js';

/**
 * A crypto policy for TLS hops (`--tls-policy FILE` or a built-in name): per segment kind (edge:
 * client -> NLB -> gateway; mesh: sidecar/gateway -> sidecar), what a hop may negotiate. A hop
 * that negotiated something outside it is contradicted, with the negotiated and allowed values
 * side by side. Everything here is pure: the file is read by src/io/tls-policy-file.ts.
 *
 * File format (YAML or JSON); every list is optional, an absent list allows anything:
 * ```yaml
 * kind: mesh-verify/tls-policy
 * name: internal-2027
 * description: TLS 1.3 at the edge, FIPS groups everywhere
 * source: https://example.com/crypto-standard   # optional: where the rules come from
 * default:                     # applies to both kinds unless edge/mesh set the same field
 *   versions: [TLSv1.2, TLSv1.3]
 *   cipherSuites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]   # IANA or OpenSSL names
 *   groups: [secp256r1, X25519MLKEM768]          # key exchange (IANA names; P-256 etc. accepted)
 *   signatureAlgorithms: [ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256]
 *   keyAlgorithms: [ECDSA-P256, RSA]             # certificate keys
 *   minRsaBits: 2048
 * edge:
 *   versions: [TLSv1.3]
 * mesh: {}
 * ```
 */
export const TLS_POLICY_KIND = 'mesh-verify/tls-policy' as const;
export type PolicySegmentKind = 'edge' | 'mesh';
export const POLICY_SEGMENT_KINDS: readonly PolicySegmentKind[] = ['edge', 'mesh'];

export interface TlsRules {
  versions?: string[];
  cipherSuites?: string[];
  groups?: string[];
  signatureAlgorithms?: string[];
  keyAlgorithms?: string[];
  minRsaBits?: number;
}

export interface TlsPolicy {
  name: string;
  description: string;
  /** Where the rules come from (standards, documents). */
  sources: string[];
  /** Rules in effect per kind (default merged in), every name canonical. */
  rules: Record<PolicySegmentKind, TlsRules>;
}

/** What one hop negotiated; an absent field was not recorded (and is not judged). */
export interface NegotiatedTls {
  version?: string | null;
  cipher?: string | null;
  group?: string | null;
  signatureAlgorithm?: string | null;
  /** The peer certificate's key: `RSA`, `ECDSA-P256`, ... (with `keyBits` for RSA). */
  keyAlgorithm?: string | null;
  keyBits?: number | null;
}

export type PolicyField = 'version' | 'cipher' | 'group' | 'signatureAlgorithm' | 'keyAlgorithm';

export interface PolicyViolation {
  field: PolicyField;
  negotiated: string;
  allowed: string[];
  /** One line: `TLS version TLSv1.2 is not allowed by modern (edge: TLSv1.3)`. */
  message: string;
}

export interface PolicyEvaluation {
  violations: PolicyViolation[];
  /** Fields the policy constrains but the hop's evidence did not record: not judged (inconclusive). */
  unchecked: PolicyField[];
}

const FIELD_WORD: Record<PolicyField, string> = {
  version: 'TLS version', cipher: 'cipher suite', group: 'key-exchange group', signatureAlgorithm: 'signature algorithm', keyAlgorithm: 'certificate key',
};

/** A problem in a policy document, with the JSON pointer where it is. */
export class PolicyFormatError extends Error {
  constructor(readonly pointer: string, problem: string, readonly fix?: string) {
    super(`${problem} at ${pointer || '/'}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const LISTS: { key: keyof TlsRules; canon: (s: string) => string | null; example: string }[] = [
  { key: 'versions', canon: canonicalVersion, example: 'TLSv1.2, TLSv1.3' },
  { key: 'cipherSuites', canon: canonicalCipher, example: 'TLS_AES_128_GCM_SHA256 or ECDHE-ECDSA-AES128-GCM-SHA256' },
  { key: 'groups', canon: canonicalGroup, example: 'x25519, secp256r1 (P-256), X25519MLKEM768' },
  { key: 'signatureAlgorithms', canon: canonicalSigalg, example: 'ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256' },
  { key: 'keyAlgorithms', canon: canonicalKeyAlgorithm, example: 'RSA, ECDSA-P256, ECDSA-P384, Ed25519' },
];

function parseRules(v: unknown, pointer: string): TlsRules {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new PolicyFormatError(pointer, 'expected a mapping of rules');
  const known = new Set([...LISTS.map((l) => l.key as string), 'minRsaBits']);
  for (const k of Object.keys(v)) {
    if (!known.has(k)) throw new PolicyFormatError(`${pointer}/${k}`, `unknown rule "${k}"`, `use ${[...known].join(', ')}`);
  }
  const out: TlsRules = {};
  for (const { key, canon, example } of LISTS) {
    const list = v[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0) throw new PolicyFormatError(`${pointer}/${key}`, 'expected a non-empty list', 'leave the rule out to allow anything');
    (out as Record<string, string[]>)[key] = list.map((item, i) => {
      const name = typeof item === 'string' ? canon(item) : null;
      if (name === null) throw new PolicyFormatError(`${pointer}/${key}/${i}`, `unknown ${key.replace(/s$/, '')} ${JSON.stringify(item)}`, `use names like ${example}`);
      return name;
    });
  }
  if (v.minRsaBits !== undefined) {
    if (typeof v.minRsaBits !== 'number' || !Number.isInteger(v.minRsaBits) || v.minRsaBits < 1024) {
      throw new PolicyFormatError(`${pointer}/minRsaBits`, 'expected a whole number of bits (>= 1024)', 'e.g. minRsaBits: 2048');
    }
    out.minRsaBits = v.minRsaBits;
  }
  return out;
}

/** Validate a parsed policy document (from YAML or JSON). Throws PolicyFormatError. */
export function policyFromDocument(doc: unknown): TlsPolicy {
  if (!isObject(doc)) throw new PolicyFormatError('', 'is not a TLS policy (expected a mapping)');
  if (doc.kind !== TLS_POLICY_KIND) {
    throw new PolicyFormatError('/kind', `kind is ${doc.kind === undefined ? 'missing' : JSON.stringify(doc.kind)}, expected "${TLS_POLICY_KIND}"`, `start the file with: kind: ${TLS_POLICY_KIND}`);
  }
  const known = new Set(['kind', 'name', 'description', 'source', 'sources', 'default', 'edge', 'mesh']);
  for (const k of Object.keys(doc)) {
    if (!known.has(k)) throw new PolicyFormatError(`/${k}`, `unknown field "${k}"`, `use ${[...known].join(', ')}`);
  }
  if (typeof doc.name !== 'string' || doc.name.trim() === '') throw new PolicyFormatError('/name', 'missing "name"', 'name the policy, e.g. name: internal-2027');
  const sources = [doc.source, ...(Array.isArray(doc.sources) ? doc.sources : [])].filter((s): s is string => typeof s === 'string');
  const base = parseRules(doc.default, '/default');
  const rules = {} as Record<PolicySegmentKind, TlsRules>;
  for (const kind of POLICY_SEGMENT_KINDS) rules[kind] = { ...base, ...parseRules(doc[kind], `/${kind}`) };
  return { name: doc.name, description: typeof doc.description === 'string' ? doc.description : '', sources, rules };
}

/** Parse policy text (YAML, of which JSON is a subset). Throws PolicyFormatError. */
export function parsePolicyText(text: string): TlsPolicy {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PolicyFormatError('', `is not YAML or JSON (${(err as Error).message.split('\n')[0]})`);
  }
  return policyFromDocument(doc);
}

/**
 * Judge what one hop negotiated against the policy's rules for its segment kind (pure).
 * Unknown names in `negotiated` are compared as given (so an unlisted suite is a violation).
 */
export function evaluatePolicy(policy: TlsPolicy, segmentKind: PolicySegmentKind, negotiated: NegotiatedTls): PolicyEvaluation {
  const rules = policy.rules[segmentKind];
  const violations: PolicyViolation[] = [];
  const unchecked: PolicyField[] = [];
  const judge = (field: PolicyField, allowed: string[] | undefined, value: string | null | undefined, canon: (s: string) => string | null) => {
    if (!allowed) return;
    if (value === undefined || value === null || value === '' || value === '-') { unchecked.push(field); return; }
    const name = canon(value) ?? value;
    if (!allowed.includes(name)) {
      violations.push({
        field, negotiated: name, allowed,
        message: `${FIELD_WORD[field]} ${name} is not allowed by ${policy.name} (${segmentKind}: ${allowed.join(', ')})`,
      });
    }
  };
  judge('version', rules.versions, negotiated.version, canonicalVersion);
  judge('cipher', rules.cipherSuites, negotiated.cipher, canonicalCipher);
  judge('group', rules.groups, negotiated.group, canonicalGroup);
  judge('signatureAlgorithm', rules.signatureAlgorithms, negotiated.signatureAlgorithm, canonicalSigalg);
  judge('keyAlgorithm', rules.keyAlgorithms, negotiated.keyAlgorithm, canonicalKeyAlgorithm);
  const key = negotiated.keyAlgorithm ? canonicalKeyAlgorithm(negotiated.keyAlgorithm) : null;
  if (rules.minRsaBits !== undefined && key === 'RSA') {
    if (negotiated.keyBits === undefined || negotiated.keyBits === null) {
      if (!unchecked.includes('keyAlgorithm')) unchecked.push('keyAlgorithm');
    } else if (negotiated.keyBits < rules.minRsaBits) {
      violations.push({
        field: 'keyAlgorithm', negotiated: `RSA-${negotiated.keyBits}`, allowed: [`RSA >= ${rules.minRsaBits} bits`],
        message: `certificate key RSA-${negotiated.keyBits} is shorter than ${policy.name} allows (${segmentKind}: RSA >= ${rules.minRsaBits} bits)`,
      });
    }
  }
  return { violations, unchecked };
}
