import type { EvidenceBundle } from './types.js';
import { REDACTED, type SecretHit } from './secrets.js';

/**
 * The maintained half of the secret guard: secretlint's recommended rule preset (AWS, GCP,
 * GitHub, Slack, npm, SendGrid, Shopify, OpenAI, Anthropic, private keys, Basic auth in URLs, ...)
 * run over the bundle's free-text fields: access-log lines, app echoes (every header value),
 * notes, capture errors and the target description. Our own rules (src/bundle/secrets.ts) cover
 * the forms it does not. The free-text fields are joined into one document for a single lint
 * call, and each finding is mapped back to its field by offset.
 * secretlint 11 is the last major that runs on Node 20 (12.2+ needs Node 22).
 */
interface Field {
  pointer: string;
  text: string;
  start: number;
}

function freeTextFields(b: EvidenceBundle): Field[] {
  const out: Omit<Field, 'start'>[] = [];
  const add = (pointer: string, text: unknown): void => { if (typeof text === 'string' && text !== '') out.push({ pointer, text }); };
  b.run.notes.forEach((n, i) => add(`/run/notes/${i}`, n));
  add('/run/target/description', b.run.target.description);
  add('/run/target/server', b.run.target.server);
  add('/run/target/context', b.run.target.context);
  b.proxies.forEach((p, i) => {
    p.accessLog.forEach((l, j) => add(`/proxies/${i}/accessLog/${j}`, l));
    p.errors.forEach((e, j) => add(`/proxies/${i}/errors/${j}/message`, e.message));
  });
  b.requests.forEach((r, i) => {
    add(`/requests/${i}/error`, r.error);
    let echo = r.response;
    let at = `/requests/${i}/response`;
    for (let depth = 0; echo && depth < 8; depth++) {
      for (const [k, v] of Object.entries(echo.headers ?? {})) add(`${at}/headers/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, v);
      if (echo.upstream) add(`${at}/upstream/error`, echo.upstream.error);
      echo = echo.upstream?.body ?? null;
      at = `${at}/upstream/body`;
    }
  });
  if (b.client) add('/client/error', b.client.error);
  let offset = 0;
  return out.map((f) => {
    const field = { ...f, start: offset };
    offset += f.text.length + 1;
    return field;
  });
}

interface Finding {
  field: Field;
  from: number;
  to: number;
  what: string;
}

async function lint(content: string): Promise<{ range: [number, number]; ruleId: string }[]> {
  const [{ lintSource }, { creator }] = await Promise.all([
    import('@secretlint/core'),
    import('@secretlint/secretlint-rule-preset-recommend'),
  ]);
  const result = await lintSource({
    source: { content, filePath: 'evidence-bundle.txt', ext: '.txt', contentType: 'text' },
    options: { config: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: creator }] } },
  });
  return result.messages.map((m) => ({ range: m.range as [number, number], ruleId: m.ruleId }));
}

async function scan(b: EvidenceBundle): Promise<Finding[]> {
  const fields = freeTextFields(b);
  if (fields.length === 0) return [];
  const content = fields.map((f) => f.text).join('\n');
  const messages = await lint(content);
  const out: Finding[] = [];
  for (const m of messages) {
    // binary search the field holding the start offset
    let lo = 0;
    let hi = fields.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (fields[mid].start <= m.range[0]) lo = mid; else hi = mid - 1;
    }
    const field = fields[lo];
    const from = m.range[0] - field.start;
    const to = Math.min(m.range[1] - field.start, field.text.length);
    if (from >= 0 && to > from && !field.text.slice(from, to).includes(REDACTED)) {
      out.push({ field, from, to, what: m.ruleId.replace(/^@secretlint\/secretlint-rule-/, '') });
    }
  }
  return out;
}

/** Secrets secretlint finds in the free-text fields (for the loader, which refuses them). */
export async function scanFreeText(b: EvidenceBundle): Promise<SecretHit[]> {
  return (await scan(b)).map((f) => ({ pointer: f.field.pointer, kind: 'credential', what: `${f.what} (secretlint)` }));
}

function setAt(root: unknown, pointer: string, value: string): void {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let v = root as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) v = v[p] as Record<string, unknown>;
  v[parts[parts.length - 1]] = value;
}

/** A copy of the bundle with what secretlint found in free text replaced by `[redacted]`. */
export async function scrubFreeText(b: EvidenceBundle): Promise<{ value: EvidenceBundle; redacted: SecretHit[] }> {
  const findings = await scan(b);
  if (findings.length === 0) return { value: b, redacted: [] };
  const copy = structuredClone(b);
  const byField = new Map<Field, Finding[]>();
  for (const f of findings) byField.set(f.field, [...(byField.get(f.field) ?? []), f]);
  for (const [field, list] of byField) {
    let text = field.text;
    let limit = Infinity;
    for (const f of [...list].sort((x, y) => y.from - x.from)) {
      if (f.to > limit) continue; // overlaps a later finding already replaced
      text = `${text.slice(0, f.from)}${REDACTED}${text.slice(f.to)}`;
      limit = f.from;
    }
    setAt(copy, field.pointer, text);
  }
  return { value: copy, redacted: findings.map((f) => ({ pointer: f.field.pointer, kind: 'credential', what: `${f.what} (secretlint)` })) };
}
