/**
 * The allowlist of what a saved Envoy config dump may hold where Envoy keeps key material: SDS
 * `Secret` resources and TLS contexts (`DownstreamTlsContext`, `UpstreamTlsContext`, their
 * `common_tls_context`, `tls_certificates`, validation contexts). Inside those, only the fields the
 * analyzer reads (src/envoy/tls-context.ts, secret-info.ts, listener-tls.ts, cluster-tls.ts) are
 * kept; everything else is dropped, whatever its name or spelling (`generic_secret`, `password`,
 * `session_ticket_keys`, `pkcs12`, a `private_key` in any key order or unicode-escaped key name,
 * fields Envoy adds in a later version). Certificate material is public and kept, but only when it
 * is nothing but PEM CERTIFICATE blocks: a key base64-encoded inside `certificate_chain` is dropped.
 * A `private_key` that Envoy itself redacted (`[redacted]`, base64 `W3JlZGFjdGVkXQ==`) is kept as
 * Envoy printed it. Field names: envoy api/envoy/extensions/transport_sockets/tls/v3/{tls,common,
 * secret}.proto. Pure.
 */
type Json = unknown;
type Rule = { [field: string]: Rule | 'keep' | 'cert' | 'redacted-key' };

const REDACTED = '[redacted]';
const REDACTED_B64 = Buffer.from(REDACTED).toString('base64');

const DATA_SOURCE_CERT = 'cert' as const;
const SAN_MATCHERS = 'keep' as const;

const VALIDATION_CONTEXT: Rule = {
  trusted_ca: DATA_SOURCE_CERT,
  match_subject_alt_names: SAN_MATCHERS,
  match_typed_subject_alt_names: SAN_MATCHERS,
  verify_subject_alt_name: 'keep',
  verify_certificate_spki: 'keep',
  verify_certificate_hash: 'keep',
  trust_chain_verification: 'keep',
  allow_expired_certificate: 'keep',
  only_verify_leaf_cert_crl: 'keep',
  ca_certificate_provider_instance: 'keep',
  system_root_certs: 'keep',
  custom_validator_config: {
    name: 'keep',
    typed_config: {
      '@type': 'keep',
      trust_domains: { name: 'keep', trust_bundle: DATA_SOURCE_CERT },
    },
  },
};

const SDS_CONFIG: Rule = { name: 'keep', sds_config: 'keep' };

const TLS_CERTIFICATE: Rule = {
  certificate_chain: DATA_SOURCE_CERT,
  private_key: 'redacted-key',
};

const COMMON_TLS_CONTEXT: Rule = {
  tls_params: 'keep',
  alpn_protocols: 'keep',
  tls_certificates: TLS_CERTIFICATE,
  tls_certificate_sds_secret_configs: SDS_CONFIG,
  tls_certificate_provider_instance: 'keep',
  tls_certificate_certificate_provider_instance: 'keep',
  validation_context: VALIDATION_CONTEXT,
  validation_context_sds_secret_config: SDS_CONFIG,
  validation_context_certificate_provider_instance: 'keep',
  combined_validation_context: {
    default_validation_context: VALIDATION_CONTEXT,
    validation_context_sds_secret_config: SDS_CONFIG,
    validation_context_certificate_provider_instance: 'keep',
  },
};

const TLS_CONTEXT: Rule = {
  '@type': 'keep',
  common_tls_context: COMMON_TLS_CONTEXT,
  require_client_certificate: 'keep',
  require_sni: 'keep',
  sni: 'keep',
  allow_renegotiation: 'keep',
  max_session_keys: 'keep',
  auto_host_sni: 'keep',
  auto_sni_san_validation: 'keep',
};

const SECRET: Rule = {
  '@type': 'keep',
  name: 'keep',
  tls_certificate: TLS_CERTIFICATE,
  validation_context: VALIDATION_CONTEXT,
};

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** Is this text nothing but PEM certificates (and whitespace)? */
export function onlyCertificates(text: string): boolean {
  return text.replace(CERT_BLOCK, '').trim() === '' && text.includes('-----BEGIN CERTIFICATE-----');
}

function dataSourceText(v: Record<string, Json>, key: string): string | null {
  const value = v[key];
  if (typeof value !== 'string') return null;
  return key === 'inline_bytes' ? Buffer.from(value, 'base64').toString('latin1') : value;
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRedactedKey(v: Json): boolean {
  if (!isObject(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1) return false;
  if (keys[0] === 'inline_bytes') return v.inline_bytes === REDACTED_B64 || v.inline_bytes === '';
  if (keys[0] === 'inline_string') return v.inline_string === REDACTED || v.inline_string === '';
  return false;
}

export interface AllowlistResult {
  value: Json;
  /** JSON pointers (inside the dump) of what was dropped. */
  dropped: string[];
}

function esc(k: string): string {
  return k.replace(/~/g, '~0').replace(/\//g, '~1');
}

function applyRule(v: Json, rule: Rule, at: string, dropped: string[]): Json {
  if (Array.isArray(v)) return v.map((x, i) => applyRule(x, rule, `${at}/${i}`, dropped));
  if (!isObject(v)) { dropped.push(at); return undefined; }
  const out: Record<string, Json> = {};
  for (const [k, item] of Object.entries(v)) {
    // jsonpb's camelCase names (istiod's /debug/config_dump) are the same fields
    const r = rule[k] ?? rule[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
    const here = `${at}/${esc(k)}`;
    if (r === undefined) { dropped.push(here); continue; }
    if (r === 'keep') { out[k] = item; continue; }
    if (r === 'redacted-key') {
      // Kept in Envoy's own redacted form, whatever it held.
      if (!isRedactedKey(item)) dropped.push(here);
      out[k] = isRedactedKey(item) ? item : { inline_bytes: REDACTED_B64 };
      continue;
    }
    if (r === 'cert') {
      const certs = Array.isArray(item) ? null : isObject(item) ? item : null;
      const keys = certs ? Object.keys(certs) : [];
      const source = keys.length === 1 && (keys[0] === 'inline_bytes' || keys[0] === 'inline_string') ? dataSourceText(certs as Record<string, Json>, keys[0]) : null;
      if (certs && keys.length === 1 && keys[0] === 'filename' && typeof certs.filename === 'string') out[k] = { filename: certs.filename };
      else if (source !== null && onlyCertificates(source)) out[k] = item;
      else dropped.push(here);
      continue;
    }
    const inner = applyRule(item, r, here, dropped);
    if (inner !== undefined) out[k] = inner;
  }
  return out;
}

const TLS_CONTEXT_TYPE = /\.tls\.v3\.(?:Downstream|Upstream)TlsContext$/;
const SECRET_TYPE = /\.tls\.v3\.Secret$/;

/**
 * Walk a config dump; every Secret and TLS context found (by `@type`, and SDS secret entries of a
 * SecretsConfigDump) is cut down to the allowlist. Everything outside them is returned unchanged.
 */
export function allowlistConfigDump(doc: Json): AllowlistResult {
  const dropped: string[] = [];
  const walk = (v: Json, at: string, depth: number): Json => {
    if (depth > 200) { dropped.push(at); return null; }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${at}/${i}`, depth + 1));
    if (!isObject(v)) return v;
    const type = typeof v['@type'] === 'string' ? (v['@type'] as string) : '';
    if (SECRET_TYPE.test(type)) return applyRule(v, SECRET, at, dropped);
    if (TLS_CONTEXT_TYPE.test(type)) return applyRule(v, TLS_CONTEXT, at, dropped);
    const out: Record<string, Json> = {};
    for (const [k, item] of Object.entries(v)) {
      // SDS entries (dynamic_active_secrets[].secret, static_secrets[].secret) are Secrets even
      // when a dump leaves out their @type.
      if (k === 'secret' && isObject(item)) out[k] = applyRule(item, SECRET, `${at}/secret`, dropped);
      else if ((k === 'tls_context' || k === 'common_tls_context') && isObject(item)) {
        out[k] = applyRule(item, k === 'tls_context' ? TLS_CONTEXT : COMMON_TLS_CONTEXT, `${at}/${k}`, dropped);
      } else out[k] = walk(item, `${at}/${esc(k)}`, depth + 1);
    }
    return out;
  };
  return { value: walk(doc, '', 0), dropped };
}
