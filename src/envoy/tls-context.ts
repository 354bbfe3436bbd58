import type { SanMatcher } from './types.js';
import { asArray, asBool, asRecord, asString, type JsonRecord } from './json-access.js';

/** What a (Downstream|Upstream)TlsContext says about certificates and peer verification. */
export interface TlsContextFacts {
  /** SDS names of the certificates this side presents; the file path of a file-mounted
   *  certificate (`certificate_chain.filename`, Istio < 1.5 mounted /etc/certs), '<inline>' for
   *  inline PEM. */
  certificateSecrets: string[];
  validationSecret: string | null;
  /** The trusted CA file of a file-mounted validation context (`trusted_ca.filename`), or null. */
  validationFile: string | null;
  /** A trust anchor is configured (trusted_ca, validation SDS secret, SPIFFE validator bundles). */
  verifiesPeer: boolean;
  sanMatchers: SanMatcher[];
  trustDomains: string[];
  alpn: string[];
  sni: string | null;
  requireClientCertificate: boolean;
}

/**
 * The TLS context inside a transport socket, when the socket is TLS and of the wanted kind.
 * Accepts the v3 typed_config, the v2 `config`-less typed form and legacy `tls_context` objects.
 */
export function tlsContextOf(transportSocket: unknown, kind: 'Downstream' | 'Upstream'): JsonRecord | null {
  const ts = asRecord(transportSocket);
  if (!ts) return null;
  const typed = asRecord(ts.typed_config);
  if (!typed) return null;
  const type = asString(typed['@type']) ?? '';
  if (type.endsWith(`.${kind}TlsContext`)) return typed;
  // UDPA TypedStruct wrapping a TLS context.
  if (type.endsWith('.TypedStruct') && (asString(typed.type_url) ?? '').endsWith(`.${kind}TlsContext`)) {
    return asRecord(typed.value);
  }
  return null;
}

export function readTlsContext(ctx: JsonRecord): TlsContextFacts {
  const common = asRecord(ctx.common_tls_context) ?? {};
  const certificateSecrets: string[] = [];
  for (const sds of asArray(common.tls_certificate_sds_secret_configs)) {
    const name = asString(asRecord(sds)?.name);
    if (name) certificateSecrets.push(name);
  }
  for (const cert of asArray(common.tls_certificates)) {
    certificateSecrets.push(asString(asRecord(asRecord(cert)?.certificate_chain)?.filename) || '<inline>');
  }
  if (asRecord(common.tls_certificate_provider_instance)) certificateSecrets.push('<provider>');

  const combined = asRecord(common.combined_validation_context);
  const validationSds = asRecord(combined?.validation_context_sds_secret_config) ?? asRecord(common.validation_context_sds_secret_config);
  const validationSecret = asString(validationSds?.name);
  const contexts = [asRecord(combined?.default_validation_context), asRecord(common.validation_context)].filter(
    (c): c is JsonRecord => c !== null,
  );
  const sanMatchers: SanMatcher[] = [];
  const trustDomains: string[] = [];
  let trustAnchor = validationSecret !== null;
  let validationFile: string | null = null;
  let acceptUntrusted = false;
  for (const vc of contexts) {
    sanMatchers.push(...readSanMatchers(vc));
    if (asRecord(vc.trusted_ca) || asRecord(vc.ca_certificate_provider_instance)) trustAnchor = true;
    validationFile ??= asString(asRecord(vc.trusted_ca)?.filename) || null;
    if (vc.trust_chain_verification === 'ACCEPT_UNTRUSTED') acceptUntrusted = true;
    const custom = asRecord(vc.custom_validator_config);
    const spiffe = asRecord(custom?.typed_config);
    for (const td of asArray(spiffe?.trust_domains)) {
      const name = asString(asRecord(td)?.name);
      if (name) trustDomains.push(name);
      if (asRecord(asRecord(td)?.trust_bundle)) trustAnchor = true;
    }
    if (asRecord(spiffe?.trust_bundles)) trustAnchor = true;
  }
  return {
    certificateSecrets,
    validationSecret,
    validationFile,
    verifiesPeer: trustAnchor && !acceptUntrusted,
    sanMatchers,
    trustDomains,
    alpn: asArray(common.alpn_protocols).filter((a): a is string => typeof a === 'string'),
    sni: asString(ctx.sni) || null,
    requireClientCertificate: asBool(ctx.require_client_certificate),
  };
}

const MATCHER_KINDS = ['exact', 'prefix', 'suffix', 'contains'] as const;

function readSanMatchers(vc: JsonRecord): SanMatcher[] {
  const out: SanMatcher[] = [];
  const fromStringMatcher = (m: JsonRecord | null, sanType: string | null): void => {
    if (!m) return;
    const ignoreCase = m.ignore_case === true ? { ignoreCase: true } : {};
    for (const kind of MATCHER_KINDS) {
      const value = asString(m[kind]);
      if (value !== null) out.push({ sanType, kind, value, ...ignoreCase });
    }
    const regex = asString(asRecord(m.safe_regex)?.regex);
    if (regex !== null) out.push({ sanType, kind: 'regex', value: regex, ...ignoreCase });
  };
  for (const m of asArray(vc.match_subject_alt_names)) fromStringMatcher(asRecord(m), null);
  for (const t of asArray(vc.match_typed_subject_alt_names)) {
    const typed = asRecord(t);
    fromStringMatcher(asRecord(typed?.matcher), asString(typed?.san_type));
  }
  // Envoy < 1.13 (v2): verify_subject_alt_name is a list of exact strings.
  for (const s of asArray(vc.verify_subject_alt_name)) {
    if (typeof s === 'string') out.push({ sanType: null, kind: 'exact', value: s });
  }
  return out;
}
