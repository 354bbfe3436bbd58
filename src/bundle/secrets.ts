/**
 * The secret guard of evidence bundles. A bundle must never hold a private key or a credential:
 *   - PEM private keys (`-----BEGIN ... PRIVATE KEY-----`) anywhere, including inside raw admin bodies;
 *   - non-redacted `private_key` `inline_bytes`/`inline_string` in Envoy config dumps (Envoy itself
 *     prints `[redacted]`, base64 `W3JlZGFjdGVkXQ==`);
 *   - bearer tokens (`Bearer ...`), JWTs (Kubernetes service-account tokens) and
 *     `authorization` / `proxy-authorization` header values (e.g. in echoed request headers).
 * `findSecrets` lists them by JSON pointer (the loader rejects such bundles); `scrubSecrets`
 * returns a copy with each one replaced by a redaction marker (the saver uses it). Pure.
 */
export type SecretKind = 'private-key' | 'token';

export interface SecretHit {
  /** RFC 6901 JSON pointer of the string holding it. */
  pointer: string;
  kind: SecretKind;
  what: string;
}

export const REDACTED = '[redacted]';
const REDACTED_B64 = Buffer.from(REDACTED).toString('base64');

const PEM_KEY = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY)-----[\s\S]*?(?:-----END \1-----|$)/g;
const BEARER = /\bBearer\s+(?!\[redacted\])[A-Za-z0-9\-._~+/]{8,}=*/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
/** `"private_key": { "inline_bytes": "..." }` (also inline_string) inside a JSON text. */
const INLINE_KEY = /("private_key"\s*:\s*\{\s*"inline_(bytes|string)"\s*:\s*")((?:[^"\\]|\\.)*)(")/g;
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization']);

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function inlineKeyIsSecret(kind: string, value: string): boolean {
  if (value === '') return false;
  if (kind === 'string') return value.trim() !== REDACTED;
  if (value === REDACTED_B64) return false;
  return Buffer.from(value, 'base64').toString('utf8').trim() !== REDACTED;
}

function secretsInString(s: string): { kind: SecretKind; what: string }[] {
  const out: { kind: SecretKind; what: string }[] = [];
  for (const m of s.matchAll(PEM_KEY)) out.push({ kind: 'private-key', what: `PEM ${m[1]}` });
  for (const m of s.matchAll(INLINE_KEY)) {
    if (inlineKeyIsSecret(m[2], m[3])) out.push({ kind: 'private-key', what: `non-redacted private_key inline_${m[2]}` });
  }
  if (s.match(BEARER)) out.push({ kind: 'token', what: 'bearer token' });
  if (s.match(JWT)) out.push({ kind: 'token', what: 'JSON web token' });
  return out;
}

function scrubString(s: string): string {
  return s
    .replace(PEM_KEY, `${REDACTED} private key`)
    .replace(INLINE_KEY, (all, head: string, kind: string, value: string, tail: string) =>
      inlineKeyIsSecret(kind, value) ? `${head}${kind === 'bytes' ? REDACTED_B64 : REDACTED}${tail}` : all)
    .replace(BEARER, `Bearer ${REDACTED}`)
    .replace(JWT, REDACTED);
}

export function findSecrets(value: unknown): SecretHit[] {
  const hits: SecretHit[] = [];
  const walk = (v: unknown, pointer: string, key: string | null): void => {
    if (typeof v === 'string') {
      if (key !== null && CREDENTIAL_HEADERS.has(key.toLowerCase()) && v.trim() !== '' && !v.includes(REDACTED)) {
        hits.push({ pointer, kind: 'token', what: `${key.toLowerCase()} header value` });
        return;
      }
      for (const s of secretsInString(v)) hits.push({ pointer, ...s });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${pointer}/${i}`, null));
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) walk(item, `${pointer}/${escapePointer(k)}`, k);
    }
  };
  walk(value, '', null);
  return hits;
}

/** A deep copy of `value` with every secret replaced by a redaction marker, and what was replaced. */
export function scrubSecrets<T>(value: T): { value: T; redacted: SecretHit[] } {
  const redacted = findSecrets(value);
  if (redacted.length === 0) return { value, redacted };
  const walk = (v: unknown, key: string | null): unknown => {
    if (typeof v === 'string') {
      if (key !== null && CREDENTIAL_HEADERS.has(key.toLowerCase()) && v.trim() !== '' && !v.includes(REDACTED)) return REDACTED;
      return scrubString(v);
    }
    if (Array.isArray(v)) return v.map((item) => walk(item, null));
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, k)]));
    }
    return v;
  };
  return { value: walk(value, null) as T, redacted };
}
