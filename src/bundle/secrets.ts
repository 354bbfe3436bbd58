import { allowlistConfigDump } from './envoy-allowlist.js';

/**
 * The secret guard of evidence bundles. A bundle must never hold a private key or a credential.
 * Two layers, both applied on save (scrub: replace and note) and on load (refuse):
 *  1. Envoy config dumps are cut down to an allowlist where Envoy keeps key material (SDS secrets,
 *     TLS contexts; src/bundle/envoy-allowlist.ts): whatever is not a field the analyzer reads is
 *     dropped there, so an unknown spelling of a secret cannot pass.
 *  2. Every string (access-log lines, app echoes, notes, errors, admin bodies) is checked by the
 *     rules below, after removing NUL and other control bytes that could split a marker; header
 *     values are checked by header name (Authorization, Cookie, X-Api-Key, ...). A maintained
 *     rule set (secretlint's recommended preset, src/bundle/secret-scanner.ts) is run over the
 *     free-text fields as well.
 * `findSecrets` lists hits by JSON pointer; `scrubSecrets` returns a copy with each one replaced
 * by a redaction marker. Pure.
 */
export type SecretKind = 'private-key' | 'token' | 'credential';

export interface SecretHit {
  /** RFC 6901 JSON pointer of the string holding it. */
  pointer: string;
  kind: SecretKind;
  what: string;
}

export const REDACTED = '[redacted]';
const REDACTED_B64 = Buffer.from(REDACTED).toString('base64');

interface TextRule {
  kind: SecretKind;
  what: string;
  re: RegExp;
  /** Replacement for the whole match (default `[redacted]`). */
  replace?: (match: string, ...groups: string[]) => string;
  /** A further check of a match (e.g. base64 that decodes to `user:password`). */
  accept?: (m: RegExpMatchArray) => boolean;
}

/** Header names whose values are credentials (in echoed headers and in access-log fields). */
export const CREDENTIAL_HEADERS = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key', 'x-auth-token',
  'x-forwarded-access-token', 'x-amz-security-token', 'x-vault-token', 'x-goog-iam-authorization-token',
  'x-csrf-token', 'x-access-token', 'x-id-token',
];
const HEADER_SET = new Set(CREDENTIAL_HEADERS);
const HEADER_ALT = CREDENTIAL_HEADERS.map((h) => h.replace(/-/g, '[-_]')).join('|');

/** `-----BEGIN <anything> PRIVATE KEY-----` (PKCS#1/#8, EC, DSA, ENCRYPTED, OPENSSH), PGP key blocks. */
const PEM_KEY = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g;

const RULES: TextRule[] = [
  { kind: 'private-key', what: 'PEM private key', re: PEM_KEY, replace: () => `${REDACTED} private key` },
  { kind: 'private-key', what: 'SSH2 private key', re: /---- BEGIN SSH2 (?:ENCRYPTED )?PRIVATE KEY ----[\s\S]*?(?:---- END SSH2 (?:ENCRYPTED )?PRIVATE KEY ----|$)/g },
  { kind: 'private-key', what: 'PuTTY private key', re: /PuTTY-User-Key-File-\d+:[\s\S]*?(?:Private-MAC:\s*[0-9a-f]*|$)/gi },
  // `"private_key": { "inline_bytes": "..." }` inside a JSON text (not an Envoy redaction)
  {
    kind: 'private-key', what: 'non-redacted private_key', re: /("private_key"\s*:\s*\{[^{}]*?"inline_(bytes|string)"\s*:\s*")((?:[^"\\]|\\.)*)(")/g,
    replace: (all, head, kind, value, tail) => inlineKeyIsSecret(kind, value) ? `${head}${kind === 'bytes' ? REDACTED_B64 : REDACTED}${tail}` : all,
    accept: (m) => inlineKeyIsSecret(m[2], m[3]),
  },
  { kind: 'token', what: 'bearer token', re: /\bBearer\s+(?!\[redacted\])[A-Za-z0-9\-._~+/]{8,}=*/gi, replace: () => `Bearer ${REDACTED}` },
  {
    kind: 'credential', what: 'HTTP Basic credentials', re: /\bBasic\s+(?!\[redacted\])([A-Za-z0-9+/]{4,}={0,2})/g,
    replace: (all, value) => (basicDecodes(value) ? `Basic ${REDACTED}` : all), accept: (m) => basicDecodes(m[1]),
  },
  { kind: 'token', what: 'JSON web token', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  { kind: 'token', what: 'EKS token', re: /\bk8s-aws-v1\.[A-Za-z0-9_-]{20,}/g },
  { kind: 'token', what: 'Google OAuth access token', re: /\bya29\.[A-Za-z0-9_-]{20,}/g },
  { kind: 'token', what: 'Kubernetes bootstrap token', re: /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g },
  { kind: 'credential', what: 'AWS access key id', re: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  { kind: 'token', what: 'GitHub token', re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g },
  { kind: 'token', what: 'Slack token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  { kind: 'token', what: 'npm token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  // user:password@ in a URL (a server URL, a database connection string)
  {
    kind: 'credential', what: 'password in a URL', re: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@"'<>]+):(?!\[redacted\]@)([^\s/@"'<>]+)@/gi,
    replace: (_all, scheme, user) => `${scheme}${user}:${REDACTED}@`,
  },
  // kubeconfig and YAML/JSON/query credential fields: token, password, client-key-data, secrets
  {
    kind: 'credential', what: 'credential field',
    re: /(["']?\b(?:token|id-token|refresh-token|access[-_]token|password|passwd|client[-_]key[-_]data|client[-_]secret|secret[-_]access[-_]key|aws_secret_access_key|api[-_]key|private[-_]key)\b["']?\s*[:=]\s*["']?)(?!\[redacted\]|-["'\s,}]|-$|null\b|true\b|false\b|["'])([^\s"',}&]{4,})/gi,
    replace: (_all, head) => `${head}${REDACTED}`,
  },
  // a header given as a key/value pair (Envoy initial_metadata, headers_to_add): `"key":"authorization","value":"..."`
  {
    kind: 'credential', what: 'credential header',
    re: new RegExp(`("key"\\s*:\\s*"(?:${HEADER_ALT})"\\s*,\\s*"value"\\s*:\\s*")(?!\\[redacted\\]")((?:[^"\\\\]|\\\\.)+)(")`, 'gi'),
    replace: (_all, head, _v, tail) => `${head}${REDACTED}${tail}`,
  },
  // a credential header inside a log line: `"authorization":"..."`, `cookie: ...`, `x-api-key=...`
  {
    kind: 'credential', what: 'credential header',
    re: new RegExp(`((?<![\\w-])["']?(?:${HEADER_ALT})["']?\\s*[:=]\\s*["']?)(?!\\[redacted\\]|-["'\\s,}]|-$|null\\b|["'])([^\\s"',}][^"'\\n,}]*)`, 'gi'),
    replace: (_all, head) => `${head}${REDACTED}`,
  },
];

/** Does an HTTP Basic value decode to `user:password` (printable text with a colon)? */
function basicDecodes(value: string): boolean {
  const text = Buffer.from(value, 'base64').toString('latin1');
  return text.includes(':') && /^[\x20-\x7e]+$/.test(text);
}

function inlineKeyIsSecret(kind: string, value: string): boolean {
  if (value === '') return false;
  if (kind === 'string') return value.trim() !== REDACTED;
  if (value === REDACTED_B64) return false;
  return Buffer.from(value, 'base64').toString('utf8').trim() !== REDACTED;
}

/** Control bytes (NUL, ...), raw or as JSON escapes (`\u0000` in a JSON log line), removed so that a
 *  marker split by one still matches; \t \n \r stay. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200d\ufeff]|\\u00(?:0[0-8bcef]|1[0-9a-fA-F]|7[fF])|\\u200[b-dB-D]|\\u[fF][eE][fF][fF]/g;

/** Long base64 runs (a key encoded inside certificate_chain, generic_secret, client-key-data). */
const BASE64_RUN = /[A-Za-z0-9+/]{60,}={0,2}/g;

function decodedHolds(s: string): boolean {
  for (const m of s.matchAll(BASE64_RUN)) {
    const run = m[0];
    for (let shift = 0; shift < 4; shift++) {
      const part = run.slice(shift, run.length - ((run.length - shift) % 4));
      const text = Buffer.from(part, 'base64').toString('latin1').replace(CONTROL, '');
      if (/PRIVATE KEY|PuTTY-User-Key-File|SSH2 (?:ENCRYPTED )?PRIVATE/.test(text)) return true;
    }
  }
  return false;
}

function matchingRules(s: string): TextRule[] {
  const text = s.replace(CONTROL, '');
  const hits = RULES.filter((r) => {
    r.re.lastIndex = 0;
    if (r.accept) return [...text.matchAll(r.re)].some((m) => (r.accept as (m: RegExpMatchArray) => boolean)(m));
    return r.re.test(text);
  });
  for (const r of RULES) r.re.lastIndex = 0;
  return hits;
}

function base64Hit(s: string): boolean {
  return s.length >= 60 && decodedHolds(s);
}

function scrubText(s: string): string {
  let text = CONTROL.test(s) ? s.replace(CONTROL, '') : s;
  CONTROL.lastIndex = 0;
  for (const r of RULES) {
    r.re.lastIndex = 0;
    text = text.replace(r.re, (...args: unknown[]) => {
      const groups = args.slice(0, -2).filter((x): x is string => typeof x === 'string' || x === undefined).map((x) => x ?? '');
      return r.replace ? r.replace(groups[0], ...groups.slice(1)) : REDACTED;
    });
  }
  if (base64Hit(text)) text = text.replace(BASE64_RUN, (run) => (decodedHolds(run) ? REDACTED_B64 : run));
  return text;
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A string that is an Envoy config dump (JSON with `configs`), parsed; else undefined. */
function configDumpOf(s: string): unknown {
  if (s.length < 12 || !s.trimStart().startsWith('{') || !s.includes('"configs"')) return undefined;
  try {
    const v = JSON.parse(s) as { configs?: unknown };
    return v && Array.isArray(v.configs) ? v : undefined;
  } catch {
    return undefined;
  }
}

function headerIsCredential(key: string | null, v: string): boolean {
  return key !== null && HEADER_SET.has(key.toLowerCase()) && v.trim() !== '' && v.trim() !== '-' && !v.includes(REDACTED);
}

function stringHits(s: string, key: string | null): { kind: SecretKind; what: string }[] {
  if (headerIsCredential(key, s)) return [{ kind: 'credential', what: `${(key as string).toLowerCase()} header value` }];
  const out: { kind: SecretKind; what: string }[] = matchingRules(s).map((r) => ({ kind: r.kind, what: r.what }));
  if (out.length === 0 && base64Hit(s)) out.push({ kind: 'private-key', what: 'base64-encoded private key' });
  const dump = configDumpOf(s);
  if (dump !== undefined) {
    const { dropped } = allowlistConfigDump(dump);
    if (dropped.length > 0) out.push({ kind: 'credential', what: `config dump field outside the allowlist of a secret or TLS context (${dropped[0]})` });
  }
  return out;
}

/** Visit every string with its JSON pointer and its key (iterative: no depth limit on the stack). */
function eachString(value: unknown, visit: (s: string, pointer: string, key: string | null) => void): void {
  const stack: [unknown, string, string | null][] = [[value, '', null]];
  while (stack.length > 0) {
    const [v, pointer, key] = stack.pop() as [unknown, string, string | null];
    if (typeof v === 'string') visit(v, pointer, key);
    else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${pointer}/${i}`, null]);
    else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i][1], `${pointer}/${escapePointer(entries[i][0])}`, entries[i][0]]);
    }
  }
}

export function findSecrets(value: unknown): SecretHit[] {
  const hits: SecretHit[] = [];
  eachString(value, (s, pointer, key) => {
    for (const h of stringHits(s, key)) hits.push({ pointer, ...h });
  });
  return hits;
}

function scrubString(s: string, key: string | null): string {
  if (headerIsCredential(key, s)) return REDACTED;
  const dump = configDumpOf(s);
  let text = s;
  if (dump !== undefined) {
    const cut = allowlistConfigDump(dump);
    if (cut.dropped.length > 0) text = JSON.stringify(cut.value);
  }
  return scrubText(text);
}

/** A deep copy of `value` with every secret replaced by a redaction marker, and what was replaced. */
export function scrubSecrets<T>(value: T): { value: T; redacted: SecretHit[] } {
  const redacted = findSecrets(value);
  if (redacted.length === 0) return { value, redacted };
  const walk = (v: unknown, key: string | null): unknown => {
    if (typeof v === 'string') return scrubString(v, key);
    if (Array.isArray(v)) return v.map((item) => walk(item, null));
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, k)]));
    }
    return v;
  };
  return { value: walk(value, null) as T, redacted };
}
