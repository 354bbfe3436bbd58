/**
 * Canonical names for what a TLS handshake negotiates, so that a policy written with IANA names
 * matches what Envoy logs and counts (BoringSSL/OpenSSL names: `%DOWNSTREAM_TLS_CIPHER%` gives
 * `ECDHE-RSA-AES128-GCM-SHA256` for TLS 1.2, `ssl.curves.P-256`, `ssl.versions.TLSv1.2`) and what
 * node:tls reports (`TLSv1.3`, IANA `standardName`). Pure.
 *
 * Names: TLS versions as Envoy and node:tls print them; cipher suites, groups and signature
 * schemes as in the IANA TLS parameters registry
 * (https://www.iana.org/assignments/tls-parameters/tls-parameters.xhtml); the ML-KEM hybrids as
 * in draft-ietf-tls-ecdhe-mlkem (X25519MLKEM768 = 0x11EC, SecP256r1MLKEM768 = 0x11EB,
 * SecP384r1MLKEM1024 = 0x11ED).
 */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

const VERSION_ALIASES: Record<string, TlsVersion> = {
  tlsv1: 'TLSv1', 'tlsv1.0': 'TLSv1', 'tls1.0': 'TLSv1', '1.0': 'TLSv1', tlsv1_0: 'TLSv1',
  'tlsv1.1': 'TLSv1.1', 'tls1.1': 'TLSv1.1', '1.1': 'TLSv1.1', tlsv1_1: 'TLSv1.1',
  'tlsv1.2': 'TLSv1.2', 'tls1.2': 'TLSv1.2', '1.2': 'TLSv1.2', tlsv1_2: 'TLSv1.2',
  'tlsv1.3': 'TLSv1.3', 'tls1.3': 'TLSv1.3', '1.3': 'TLSv1.3', tlsv1_3: 'TLSv1.3',
};

/** `TLSv1.2`, `1.2`, `TLSv1_2` (Envoy's config enum) -> `TLSv1.2`; null when unknown. */
export function canonicalVersion(v: string): TlsVersion | null {
  return VERSION_ALIASES[v.trim().toLowerCase().replace(/\s+/g, '')] ?? null;
}

/** IANA cipher suite name -> its OpenSSL/BoringSSL name (TLS 1.3 suites use the IANA name in both). */
const SUITES: Record<string, string | null> = {
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_AES_128_CCM_SHA256: null,
  TLS_AES_128_CCM_8_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: 'ECDHE-ECDSA-AES256-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: 'ECDHE-RSA-AES256-SHA384',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
};
const SUITE_BY_LOWER = new Map<string, string>();
for (const [iana, openssl] of Object.entries(SUITES)) {
  SUITE_BY_LOWER.set(iana.toLowerCase(), iana);
  if (openssl) SUITE_BY_LOWER.set(openssl.toLowerCase(), iana);
}

/** IANA or OpenSSL cipher suite name -> IANA name; null when unknown. */
export function canonicalCipher(name: string): string | null {
  return SUITE_BY_LOWER.get(name.trim().toLowerCase()) ?? null;
}

/** A suite's name as OpenSSL takes it in a cipher list (TLS 1.3 suites keep the IANA name); null when unknown. */
export function opensslCipherName(name: string): string | null {
  const iana = canonicalCipher(name);
  if (!iana) return null;
  return SUITES[iana] ?? iana;
}

const GROUPS: Record<string, string[]> = {
  x25519: ['X25519', 'x25519'],
  x448: ['X448'],
  secp256r1: ['P-256', 'prime256v1', 'P256', 'CurveP256'],
  secp384r1: ['P-384', 'P384', 'CurveP384'],
  secp521r1: ['P-521', 'P521', 'CurveP521'],
  ffdhe2048: [], ffdhe3072: [], ffdhe4096: [], ffdhe6144: [], ffdhe8192: [],
  X25519MLKEM768: ['X25519MLKEM768'],
  SecP256r1MLKEM768: ['P256MLKEM768', 'P-256MLKEM768', 'SecP256r1MLKEM768'],
  SecP384r1MLKEM1024: ['P384MLKEM1024', 'P-384MLKEM1024', 'SecP384r1MLKEM1024'],
  X25519Kyber768Draft00: ['X25519Kyber768'],
};
const GROUP_BY_LOWER = new Map<string, string>();
for (const [iana, aliases] of Object.entries(GROUPS)) {
  for (const n of [iana, ...aliases]) GROUP_BY_LOWER.set(n.toLowerCase(), iana);
}

/** Hybrid groups with an ML-KEM component (post-quantum key exchange). */
export const ML_KEM_HYBRID_GROUPS = ['X25519MLKEM768', 'SecP256r1MLKEM768', 'SecP384r1MLKEM1024'] as const;

/** `P-256`, `prime256v1`, `secp256r1` -> `secp256r1`; null when unknown. */
export function canonicalGroup(name: string): string | null {
  return GROUP_BY_LOWER.get(name.trim().toLowerCase()) ?? null;
}

const SIGALGS = [
  'rsa_pkcs1_sha256', 'rsa_pkcs1_sha384', 'rsa_pkcs1_sha512', 'rsa_pkcs1_sha1',
  'ecdsa_secp256r1_sha256', 'ecdsa_secp384r1_sha384', 'ecdsa_secp521r1_sha512', 'ecdsa_sha1',
  'rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512',
  'rsa_pss_pss_sha256', 'rsa_pss_pss_sha384', 'rsa_pss_pss_sha512',
  'ed25519', 'ed448', 'mldsa44', 'mldsa65', 'mldsa87',
];
const SIGALG_SET = new Set(SIGALGS);

/** IANA SignatureScheme name (as BoringSSL counts them in `ssl.sigalgs.*`); null when unknown. */
export function canonicalSigalg(name: string): string | null {
  const n = name.trim().toLowerCase();
  return SIGALG_SET.has(n) ? n : null;
}

/** Certificate key types: `RSA` (with a size), `ECDSA-P256`, `ECDSA-P384`, `ECDSA-P521`, `Ed25519`, `ML-DSA-65`... */
const KEY_ALGS: Record<string, string> = {
  rsa: 'RSA', 'ecdsa-p256': 'ECDSA-P256', 'ecdsa-p384': 'ECDSA-P384', 'ecdsa-p521': 'ECDSA-P521', ed25519: 'Ed25519', ed448: 'Ed448',
  'ml-dsa-44': 'ML-DSA-44', 'ml-dsa-65': 'ML-DSA-65', 'ml-dsa-87': 'ML-DSA-87',
  'ec-p256': 'ECDSA-P256', 'ec-p384': 'ECDSA-P384', 'ec-p521': 'ECDSA-P521', prime256v1: 'ECDSA-P256', secp384r1: 'ECDSA-P384', secp521r1: 'ECDSA-P521',
};

export function canonicalKeyAlgorithm(name: string): string | null {
  return KEY_ALGS[name.trim().toLowerCase()] ?? null;
}
