import type { CertificateInfo, SecretInfo } from './types.js';
import type { DumpSecret } from './config-dump.js';
import { asRecord, asString, type JsonRecord } from './json-access.js';
import { decodeCertificatesSharing } from './certificate.js';

/**
 * SDS secrets with their inline PEM decoded; `expired` is judged against `now`. `seen` shares
 * decodes of identical PEM blocks across calls (e.g. one per audit; default: one per call).
 */
export function inspectSecrets(secrets: DumpSecret[], now: Date, seen: Map<string, CertificateInfo> = new Map()): SecretInfo[] {
  return secrets.map((s) => {
    const tlsCert = asRecord(s.secret?.tls_certificate);
    const validation = asRecord(s.secret?.validation_context);
    const kind: SecretInfo['kind'] = tlsCert ? 'certificate' : validation ? 'trust-bundle' : 'unknown';
    const pem = tlsCert ? dataSource(tlsCert.certificate_chain) : validation ? dataSource(validation.trusted_ca) : null;
    const chain = pem ? decodeCertificatesSharing(pem, seen) : [];
    const notAfter = kind === 'certificate' ? chain[0]?.notAfter ?? null : earliest(chain);
    return {
      name: s.name,
      state: s.state,
      kind,
      uriSans: chain[0]?.uriSans ?? [],
      notAfter,
      expired: notAfter === null ? null : new Date(notAfter).getTime() <= now.getTime(),
      chain,
    };
  });
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
