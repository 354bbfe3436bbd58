/**
 * Nothing secret goes into a bundle. Envoy already prints private keys as `[redacted]`; this is
 * the second line of defence for what a proxy or a log might still carry: PEM private keys,
 * inline private_key data sources, bearer tokens and JWTs.
 */
export const REDACTED = '[redacted]';
const REDACTED_BASE64 = Buffer.from(REDACTED).toString('base64');

const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
const BEARER = /(\bBearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;

/** Text with private keys, bearer tokens and JWTs replaced by `[redacted]`. */
export function scrubText(text: string): string {
  return text.replace(PEM_PRIVATE_KEY, REDACTED).replace(BEARER, `$1${REDACTED}`).replace(JWT, REDACTED);
}

/**
 * A parsed admin JSON document with every inline `private_key` data source redacted the way
 * Envoy does it (inline_bytes -> base64 of `[redacted]`, inline_string -> `[redacted]`).
 * Returns the number of values it had to redact.
 */
export function scrubJson(doc: unknown): number {
  let count = 0;
  const visit = (v: unknown, key: string | null): void => {
    if (Array.isArray(v)) { for (const x of v) visit(x, null); return; }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (key === 'private_key' || key === 'privateKey') {
      if (typeof o.inline_bytes === 'string' && o.inline_bytes !== REDACTED_BASE64) { o.inline_bytes = REDACTED_BASE64; count += 1; }
      if (typeof o.inline_string === 'string' && o.inline_string !== REDACTED) { o.inline_string = REDACTED; count += 1; }
      if (typeof o.inlineBytes === 'string' && o.inlineBytes !== REDACTED_BASE64) { o.inlineBytes = REDACTED_BASE64; count += 1; }
      if (typeof o.inlineString === 'string' && o.inlineString !== REDACTED) { o.inlineString = REDACTED; count += 1; }
    }
    for (const [k, x] of Object.entries(o)) {
      if (typeof x === 'string') {
        const s = scrubText(x);
        if (s !== x) { o[k] = s; count += 1; }
      } else {
        visit(x, k);
      }
    }
  };
  visit(doc, null);
  return count;
}
