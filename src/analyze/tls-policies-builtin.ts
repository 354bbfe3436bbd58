import { ML_KEM_HYBRID_GROUPS } from './tls-names.js';
import { TLS_POLICY_KIND, policyFromDocument, type TlsPolicy } from './tls-policy.js';

/**
 * The built-in TLS policies, as policy documents (the same format as a `--tls-policy FILE`, and
 * checked by the same validator). Each names its sources; README "TLS policies" repeats them.
 */
export const BUILTIN_POLICY_DOCUMENTS = {
  modern: {
    kind: TLS_POLICY_KIND,
    name: 'modern',
    description: 'TLS 1.3 only, on every hop.',
    sources: [
      'RFC 8446 (TLS 1.3); RFC 8996 deprecates TLS 1.0 and 1.1',
      'Mozilla Server Side TLS, "Modern" configuration: TLS 1.3 only (https://wiki.mozilla.org/Security/Server_Side_TLS)',
    ],
    default: { versions: ['TLSv1.3'] },
  },
  'fips-140-3': {
    kind: TLS_POLICY_KIND,
    name: 'fips-140-3',
    description: 'Only FIPS-approved TLS versions, suites, groups, signature schemes and certificate keys (NIST SP 800-52 Rev. 2).',
    sources: [
      'NIST SP 800-52 Rev. 2 (2019), Guidelines for the Selection, Configuration, and Use of TLS Implementations: section 3.1 (TLS 1.2 and 1.3), 3.3.1 (cipher suites), 3.3.2 (supported groups), 3.3.3 (signature schemes)',
      'FIPS 140-3 with its Implementation Guidance: only approved algorithms in approved modes (FIPS 186-5 signatures, SP 800-56A Rev. 3 ECDH on NIST curves, SP 800-38D AES-GCM)',
      'NIST SP 800-131A Rev. 2: RSA and ECDSA keys of at least 112 bits of security (RSA >= 2048)',
      'FIPS 203 (ML-KEM) with NIST SP 800-227: hybrids whose both parts are approved (ECDH on P-256/P-384 + ML-KEM)',
      'BoringSSL ssl_compliance_policy_fips_202205, which Envoy enforces with compliance_policies: FIPS_202205 (the same suites, groups and schemes)',
    ],
    default: {
      versions: ['TLSv1.2', 'TLSv1.3'],
      cipherSuites: [
        'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384',
        'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
        'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      ],
      // X25519 is not an approved key-establishment curve (SP 800-56A Rev. 3 names the NIST
      // curves), so neither x25519 nor X25519MLKEM768 is listed; a policy file can add them
      // where an assessor accepts the ML-KEM part alone.
      groups: ['secp256r1', 'secp384r1', 'secp521r1', 'SecP256r1MLKEM768', 'SecP384r1MLKEM1024'],
      signatureAlgorithms: [
        'rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512',
        'rsa_pkcs1_sha256', 'rsa_pkcs1_sha384', 'rsa_pkcs1_sha512',
        'ecdsa_secp256r1_sha256', 'ecdsa_secp384r1_sha384', 'ecdsa_secp521r1_sha512',
      ],
      keyAlgorithms: ['RSA', 'ECDSA-P256', 'ECDSA-P384', 'ECDSA-P521'],
      minRsaBits: 2048,
    },
  },
  'pq-hybrid': {
    kind: TLS_POLICY_KIND,
    name: 'pq-hybrid',
    description: 'A post-quantum hybrid key exchange (ECDHE + ML-KEM) on every hop, hence TLS 1.3.',
    sources: [
      'draft-ietf-tls-ecdhe-mlkem: X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024 (TLS 1.3 named groups 0x11EC, 0x11EB, 0x11ED)',
      'FIPS 203 (ML-KEM); NIST IR 8547 (transition to post-quantum cryptography)',
      'Envoy (BoringSSL) offers X25519MLKEM768 through ecdh_curves in TlsParameters',
    ],
    default: { versions: ['TLSv1.3'], groups: [...ML_KEM_HYBRID_GROUPS] },
  },
} as const;

export type BuiltinPolicyName = keyof typeof BUILTIN_POLICY_DOCUMENTS;
export const BUILTIN_POLICY_NAMES = Object.keys(BUILTIN_POLICY_DOCUMENTS) as BuiltinPolicyName[];

export function isBuiltinPolicyName(v: string): v is BuiltinPolicyName {
  return Object.hasOwn(BUILTIN_POLICY_DOCUMENTS, v);
}

export function builtinPolicy(name: BuiltinPolicyName): TlsPolicy {
  return policyFromDocument(structuredClone(BUILTIN_POLICY_DOCUMENTS[name]) as unknown);
}
