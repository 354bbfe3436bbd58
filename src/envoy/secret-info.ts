import type { CertificateInfo, SecretInfo, TrustDomainBundle } from './types.js';
import type { DumpSecret } from './config-dump.js';
import { asArray, asRecord, asString, type JsonRecord } from './json-access.js';
import { decodeCertificatesSharing } from './certificate.js';

/**
 * SDS secrets with their inline PEM decoded; `expired` is judged against `now`. `seen` shares
 * decodes of identical PEM blocks across calls (e.g. one per audit; default: one per call).
 */
export function inspectSecrets(secrets: DumpSecret[], now: Date, seen: Map<string, CertificateInfo> = new Map()): SecretInfo[] {
  const expiredAt = (notAfter: string | null) => (notAfter === null ? null : new Date(notAfter).getTime() <= now.getTime());
  return secrets.map((s) => {
    const tlsCert = asRecord(s.secret?.tls_certificate);
    const validation = asRecord(s.secret?.validation_context);
    const kind: SecretInfo['kind'] = tlsCert ? 'certificate' : validation ? 'trust-bundle' : 'unknown';
    const source = tlsCert ? tlsCert.certificate_chain : validation?.trusted_ca;
    const pem = dataSource(source);
    let chain = pem ? decodeCertificatesSharing(pem, seen) : [];
    const trustDomains = validation ? spiffeTrustDomains(validation, seen, expiredAt) : [];
    // A SPIFFE validator (SPIRE, multi-trust-domain Istio) carries the roots per trust domain.
    if (trustDomains.length > 0) chain = [...chain, ...trustDomains.flatMap((td) => td.roots)];
    const notAfter = kind === 'certificate' ? chain[0]?.notAfter ?? null : earliest(chain);
    const out: SecretInfo = {
      name: s.name,
      state: s.state,
      kind,
      uriSans: chain[0]?.uriSans ?? [],
      notAfter,
      expired: expiredAt(notAfter),
      chain,
    };
    const file = asString(asRecord(source)?.filename);
    if (file) out.file = file;
    if (trustDomains.length > 0) out.trustDomains = trustDomains;
    return out;
  });
}

/**
 * The per-trust-domain bundles of Envoy's SPIFFE certificate validator
 * (`custom_validator_config` named `envoy.tls.cert_validator.spiffe`, typed
 * SPIFFECertValidatorConfig: `trust_domains[] { name, trust_bundle: DataSource }`).
 */
function spiffeTrustDomains(vc: JsonRecord, seen: Map<string, CertificateInfo>, expiredAt: (n: string | null) => boolean | null): TrustDomainBundle[] {
  const typed = asRecord(asRecord(vc.custom_validator_config)?.typed_config);
  const out: TrustDomainBundle[] = [];
  for (const raw of asArray(typed?.trust_domains)) {
    const td = asRecord(raw);
    const name = asString(td?.name);
    if (!td || !name) continue;
    const pem = dataSource(td.trust_bundle);
    const roots = pem ? decodeCertificatesSharing(pem, seen) : [];
    const notAfter = earliest(roots);
    const entry: TrustDomainBundle = { name, roots, notAfter, expired: expiredAt(notAfter) };
    const file = asString(asRecord(td.trust_bundle)?.filename);
    if (file) entry.file = file;
    out.push(entry);
  }
  return out;
}

/** envoy.config.core.v3.DataSource: inline_bytes (base64) or inline_string; files are not readable here. */
function dataSource(v: unknown): string | null {
  const ds = asRecord(v) as JsonRecord | null;
  const inlineString = asString(ds?.inline_string);
  if (inlineString) return inlineString;
  const bytes = asString(ds?.inline_bytes);
  return bytes ? Buffer.from(bytes, 'base64').toString('utf8') : null;
}

function earliest(chain: CertificateInfo[]): string | null {
  if (chain.length === 0) return null;
  return chain.map((c) => c.notAfter).sort()[0];
}
