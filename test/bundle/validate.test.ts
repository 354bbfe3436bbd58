import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { validateBundle } from '../../src/bundle/validate.js';
import { bundleSchema } from '../../src/bundle/schema-file.js';
import { FIXTURE_NAMES, loadFixture } from '../analyze/fixture-bundles.js';

const invalid = (json: unknown) => {
  const r = validateBundle(json);
  if (r.valid) throw new Error('expected an invalid bundle');
  return r;
};

describe('evidence bundle v1 validation', () => {
  it('has a schema that compiles under JSON Schema 2020-12', () => {
    expect(() => new Ajv2020({ strict: true }).compile(bundleSchema())).not.toThrow();
  });

  it.each(FIXTURE_NAMES)('accepts the committed fixture %s', (name) => {
    expect(validateBundle(loadFixture(name)).valid).toBe(true);
  });

  it('tells another kind of document apart, and recognises an Envoy config dump', () => {
    expect(invalid({ hello: 1 }).problem).toContain('is not a mesh-verify evidence bundle (no "kind" field');
    expect(invalid({ kind: 'something/else', schemaVersion: 1 }).problem).toContain('kind is "something/else"');
    const dump = invalid({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump' }] });
    expect(dump.problem).toBe('is an Envoy config dump, not an evidence bundle');
    expect(dump.fix).toContain('inspect --file');
    expect(invalid([1, 2]).problem).toContain('got an array');
  });

  it('refuses other schema versions with the version it reads', () => {
    const b = { ...loadFixture('healthy'), schemaVersion: 2 };
    expect(invalid(b).problem).toBe('bundle schemaVersion 2 is not supported by this mesh-verify (reads 1)');
  });

  it('checks the per-request x-request-id trail, and accepts bundles written before it existed', () => {
    const b = loadFixture('healthy');
    (b.requests[0].requestIds!.seen[0] as { source: string }).source = 'guess';
    expect(invalid(b).pointer).toBe('/requests/0/requestIds/seen/0/source');
    const old = loadFixture('healthy');
    for (const r of old.requests) delete r.requestIds;
    expect(validateBundle(old).valid).toBe(true);
  });

  it('names the JSON pointer of a schema violation', () => {
    const b = loadFixture('healthy') as unknown as { proxies: { role: string }[]; run: Record<string, unknown> };
    b.proxies[1].role = 'waypoint';
    const r = invalid(b);
    expect(r.pointer).toBe('/proxies/1/role');
    expect(r.problem).toContain('at /proxies/1/role: must be one of "gateway", "sidecar"');
    const c = loadFixture('healthy') as unknown as { run: Record<string, unknown> };
    delete c.run.startedAt;
    expect(invalid(c).problem).toContain('at /run: missing required field "startedAt"');
  });

  it('rejects a bundle holding a PEM private key, wherever it hides', () => {
    const b = loadFixture('healthy');
    b.proxies[0].accessLog.push(`{"note":"-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIB\\n-----END EC PRIVATE KEY-----"}`);
    const r = invalid(b);
    expect(r.pointer).toBe(`/proxies/0/accessLog/${b.proxies[0].accessLog.length - 1}`);
    expect(r.problem).toContain('holds a private key');
  });

  it('rejects a config dump whose private_key is not redacted, and accepts Envoy\'s [redacted]', () => {
    const b = loadFixture('healthy');
    const body = b.proxies[1].admin.configDump?.body ?? '';
    // Real Envoy (the recorded lab run; the lab sends the key as istio-agent does, inline_bytes)
    // prints an SDS secret's key as the bytes "[redacted]".
    const redacted = `"private_key":{"inline_bytes":"${Buffer.from('[redacted]').toString('base64')}"}`;
    expect(body).toContain(redacted);
    (b.proxies[1].admin.configDump as { body: string }).body = body.replace(redacted, `"private_key":{"inline_bytes":"${Buffer.from('not a redaction').toString('base64')}"}`);
    const r = invalid(b);
    expect(r.pointer).toBe('/proxies/1/admin/configDump/body');
    expect(r.problem).toContain('private key');
  });

  it('rejects bearer tokens and authorization headers in echoed requests', () => {
    const b = loadFixture('healthy');
    const echo = b.requests[0].response as { headers: Record<string, string> };
    echo.headers['x-debug'] = 'Bearer abcdefghijklmnop.qrstuvwx';
    expect(invalid(b).problem).toContain('holds a bearer token at /requests/0/response/headers/x-debug');
    delete echo.headers['x-debug'];
    echo.headers.authorization = 'Basic dXNlcjpwYXNz';
    expect(invalid(b).pointer).toBe('/requests/0/response/headers/authorization');
  });
});
