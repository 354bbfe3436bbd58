import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBundle } from '../../src/bundle/load.js';
import { saveBundle, serializeBundle } from '../../src/bundle/save.js';
import { findSecrets, scrubSecrets } from '../../src/bundle/secrets.js';
import { InputError } from '../../src/core/errors.js';
import { fixturePath, loadFixture } from '../analyze/fixture-bundles.js';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'mv-bundle-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

async function loadError(file: string): Promise<InputError> {
  try {
    await loadBundle(file);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected loadBundle to fail');
}

describe('loadBundle', () => {
  it('loads a committed fixture', async () => {
    const b = await loadBundle(fixturePath('healthy'));
    // A recording of a lab run (scripts/make-fixture-bundles.ts): its own run id, on every request id.
    expect(b.run.target.kind).toBe('lab');
    expect(b.requests.every((r) => r.id.startsWith(`mv-${b.run.id}-`))).toBe(true);
    expect(b.path.segments).toHaveLength(7);
  });

  it('turns every unusable file into one line naming the file (exit 2)', async () => {
    const file = (name: string) => join(dir, name);
    await writeFile(file('empty.json'), '  \n');
    await writeFile(file('text.json'), 'hello, world');
    const full = await readFile(fixturePath('healthy'), 'utf8');
    await writeFile(file('truncated.json'), full.slice(0, 2000));
    // Cut right after a complete value: V8 says "Expected ',' or ']' after array element ... at position <end>".
    await writeFile(file('cut-after-value.json'), '{"requests":[1,2');
    await writeFile(file('v2.json'), JSON.stringify({ ...JSON.parse(full), schemaVersion: 2 }));
    await writeFile(file('dump.json'), JSON.stringify({ configs: [] }));
    await mkdir(file('adir'));
    const cases: [string, string][] = [
      [file('missing.json'), 'bundle file not found'],
      [file('adir'), 'is a directory'],
      [file('empty.json'), 'bundle file is empty'],
      [file('text.json'), 'is not JSON'],
      [file('truncated.json'), 'JSON is truncated'],
      [file('cut-after-value.json'), 'JSON is truncated'],
      [file('v2.json'), 'bundle schemaVersion 2 is not supported by this mesh-verify (reads 1)'],
      [file('dump.json'), 'is an Envoy config dump, not an evidence bundle'],
    ];
    for (const [f, problem] of cases) {
      const err = await loadError(f);
      expect(err.message.startsWith(`${f}: `)).toBe(true);
      expect(err.message).toContain(problem);
      expect(err.message).not.toContain('\n');
      expect(err.exitCode).toBe(2);
    }
  });
});

describe('saveBundle', () => {
  it('round-trips a bundle and leaves no temporary file behind', async () => {
    const b = loadFixture('no-sidecar-svc');
    const file = join(dir, 'out', 'run.bundle.json');
    const saved = await saveBundle(file, b);
    expect(saved.redacted).toEqual([]);
    expect(await loadBundle(file)).toEqual(b);
    expect((await readdir(join(dir, 'out'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('scrubs secrets before writing and says where, so the loader accepts the result', async () => {
    const b = loadFixture('healthy');
    b.proxies[0].accessLog.push('{"key":"-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMG\\n-----END PRIVATE KEY-----"}');
    (b.requests[1].response as { headers: Record<string, string> }).headers.authorization = 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXZhbHVl';
    const file = join(dir, 'scrubbed.bundle.json');
    const saved = await saveBundle(file, b);
    expect(saved.redacted.map((s) => s.pointer)).toEqual([
      `/proxies/0/accessLog/${b.proxies[0].accessLog.length - 1}`, '/requests/1/response/headers/authorization',
    ]);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('BEGIN PRIVATE KEY');
    expect(text).not.toContain('eyJhbGciOiJSUzI1NiJ9');
    const back = await loadBundle(file);
    expect(back.run.notes.some((n) => n.includes('/requests/1/response/headers/authorization'))).toBe(true);
  });

  it('refuses to write an invalid bundle', async () => {
    const b = loadFixture('healthy') as unknown as { path: { segments: unknown[] } };
    b.path.segments = [];
    await expect(serializeBundle(b as never)).rejects.toThrow(/refusing to save an invalid evidence bundle/);
  });
});

describe('secret scrubber on raw text', () => {
  it('redacts inline private keys in a config dump body the way Envoy does, and nothing else', () => {
    const body = JSON.stringify({ tls_certificate: { certificate_chain: { inline_bytes: 'Q0VSVA==' }, private_key: { inline_bytes: Buffer.from('KEY').toString('base64') } } });
    expect(findSecrets(body).map((s) => s.kind)).toEqual(['private-key']);
    const out = scrubSecrets(body).value;
    expect(out).toContain('"private_key":{"inline_bytes":"W3JlZGFjdGVkXQ=="}');
    expect(out).toContain('"certificate_chain":{"inline_bytes":"Q0VSVA=="}');
    expect(findSecrets(out)).toEqual([]);
  });
});
