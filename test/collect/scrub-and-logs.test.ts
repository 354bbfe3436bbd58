import { describe, expect, it } from 'vitest';
import { scrubJson, scrubText } from '../../src/collect/scrub.js';
import { runLogLines } from '../../src/collect/access-log-lines.js';
import { createRootCa } from '../../src/pki/ca.js';

describe('scrub', () => {
  it('redacts PEM private keys, bearer tokens and JWTs in text and leaves certificates', async () => {
    const ca = await createRootCa('scrub test');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLWJ5dGVz';
    const out = scrubText(`${ca.certPem}${ca.keyPem}authorization: Bearer abcdefgh12345678\ntoken=${jwt}\n`);
    expect(out).toContain('BEGIN CERTIFICATE');
    expect(out).not.toContain('PRIVATE KEY');
    expect(out).toContain('Bearer [redacted]');
    expect(out).not.toContain(jwt);
  });

  it('redacts inline private_key data sources in JSON and counts what it changed', () => {
    const doc = { a: [{ private_key: { inline_bytes: 'a2V5', filename: 'x' } }, { private_key: { inline_bytes: 'W3JlZGFjdGVkXQ==' } }], b: { privateKey: { inlineString: 'k' } } };
    expect(scrubJson(doc)).toBe(2);
    expect(doc.a[0].private_key.inline_bytes).toBe('W3JlZGFjdGVkXQ==');
    expect(doc.b.privateKey.inlineString).toBe('[redacted]');
    expect(scrubJson(doc)).toBe(0);
  });
});

describe('runLogLines', () => {
  it('keeps the lines carrying one of the ids, matched exactly (JSON and text formats)', () => {
    const json = (id: string) => `{"request_id":"${id}","response_code":200}`;
    const text = '[2026-01-01T00:00:00.000Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 10 3 2 "-" "curl" "mv-r-3" "web" "10.0.0.1:8080"';
    const log = [json('mv-r-1'), json('mv-r-10'), json('mv-s-1'), '', text, 'plain line mv-r-1 without quotes'].join('\n');
    expect(runLogLines(log, ['mv-r-1', 'mv-r-3'])).toEqual([json('mv-r-1'), text]);
    expect(runLogLines(log, [])).toEqual([]);
  });
});
