import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli-in-process.js';
import { fixturePath, loadFixture, proxy } from '../analyze/fixture-bundles.js';
import { INPUT_LIMITS, jsonDepth, readInputText } from '../../src/io/read-input.js';
import { InputError } from '../../src/core/errors.js';
import { decodeCertificates } from '../../src/envoy/certificate.js';

/**
 * Issue 14 section 4: `inspect` and `analyze` on hostile input. Every exit 2 is one line on
 * stderr, names the file, and carries no raw input bytes (no terminal escapes); depth and size
 * are bounded; nothing blocks forever; nothing ends as an internal error (exit 70).
 */
const NOW = '2026-03-02T10:00:00Z';
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'mv-harden-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

function expectOneCleanLine(stderr: string): void {
  expect(stderr.endsWith('\n')).toBe(true);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  // eslint-disable-next-line no-control-regex
  expect(stderr.trimEnd()).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
}

/** The gateway's config dump of the healthy fixture bundle, as a file `inspect` reads. */
function gatewayDump(): string {
  return proxy(loadFixture('healthy'), 'gateway').admin.configDump!.body;
}

describe('inspect and analyze on hostile input', () => {
  it('accepts a UTF-8 BOM before a bundle', async () => {
    const r = await runCli('analyze', write('bom.bundle.json', `\ufeff${readFileSync(fixturePath('healthy'), 'utf8')}`), '--now', NOW);
    expect(r.status).toBe(0);
  });

  it('a bundle nested 100,000 deep is exit 2 with one line, not a crash', async () => {
    const b = loadFixture('healthy') as unknown as { run: { notes: unknown[] } };
    b.run.notes = ['__deep__'];
    const text = JSON.stringify(b).replace('"__deep__"', `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const r = await runCli('analyze', write('deep.bundle.json', text), '--now', NOW);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`JSON nests deeper than ${INPUT_LIMITS.maxDepth} levels`);
    expectOneCleanLine(r.stderr);
  });

  it('an echo chain nested 10,000 deep (a recursive schema) is exit 2 with one line', async () => {
    const b = loadFixture('healthy');
    b.requests[0].response!.upstream = null;
    const echo = '{"service":"svc","pod":null,"requestId":null,"method":"GET","path":"/","headers":{},"upstream":{"url":"http://x","status":200,"error":null,"body":';
    const deep = `${echo.repeat(10_000)}null${'}}'.repeat(10_000)}`;
    const text = JSON.stringify(b).replace('"upstream":null', `"upstream":{"url":"http://x","status":200,"error":null,"body":${deep}}`);
    const r = await runCli('analyze', write('deep-echo.bundle.json', text), '--now', NOW);
    expect(r.status).toBe(2);
    expectOneCleanLine(r.stderr);
  });

  it('a config dump nested 100,000 deep is exit 2 with one line', async () => {
    const text = `{"configs":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`;
    const r = await runCli('inspect', '-f', write('deep-dump.json', text), '--now', NOW);
    expect(r.status).toBe(2);
    expectOneCleanLine(r.stderr);
  });

  it('never echoes terminal escapes or line breaks of the input in an exit-2 message', async () => {
    const cases: [string, string[]][] = [
      ['kind', ['analyze', write('esc-kind.json', JSON.stringify({ kind: '\u001b[31mred\u001b[0m\r\nsecond line', schemaVersion: 1 }))]],
      ['c1', ['analyze', write('esc-c1.json', JSON.stringify({ kind: '\u009b31mred', schemaVersion: 1 }))]],
      ['syntax', ['analyze', write('esc-syntax.json', '{"kind": \u001b[31m oops }')]],
      ['header key', ['analyze', write('esc-header.json', (() => {
        const b = loadFixture('healthy') as unknown as { requests: { response: { headers: Record<string, unknown> } }[] };
        b.requests[0].response.headers['\u001b]0;pwned\u0007'] = 5;
        return JSON.stringify(b);
      })())]],
      ['NaN', ['analyze', write('nan.json', '{"kind": NaN}')]],
      ['inspect syntax', ['inspect', '-f', write('esc-dump.json', '{"configs": [\u001b[2J]}')]],
    ];
    for (const [name, args] of cases) {
      const r = await runCli(...args, '--now', NOW);
      expect(r.status, name).toBe(2);
      expect(r.stderr, name).not.toContain('\u001b');
      expect(r.stderr, name).not.toContain('\u009b');
      expectOneCleanLine(r.stderr);
    }
  });

  it('a certificate with an unparsable date is not an internal error', async () => {
    const bundle = loadFixture('healthy');
    const pem = bundle.client!.peerChain[0].pem;
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
    const at = der.indexOf(Buffer.from([0x17, 0x0d])); // UTCTime notBefore
    der.write('99', at + 4, 'latin1'); // month 99
    const bad = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    expect(() => decodeCertificates(bad)).not.toThrow();
    expect(decodeCertificates(bad)).toEqual([]);
    const doc = JSON.parse(gatewayDump());
    const secrets = doc.configs.find((c: { '@type': string }) => c['@type'].endsWith('SecretsConfigDump')).dynamic_active_secrets;
    secrets.find((s: { name: string }) => s.name === 'kubernetes://mesh-verify-credential').secret.tls_certificate.certificate_chain.inline_bytes = Buffer.from(bad).toString('base64');
    const edited = JSON.stringify(doc);
    const r = await runCli('inspect', '-f', write('bad-date.json', edited), '--now', NOW);
    expect(r.status).not.toBe(70);
    expect([0, 2, 3]).toContain(r.status);
    expect(r.stderr).not.toContain('internal error');
  });

  it('measures depth on the text without recursion, ignoring brackets inside strings', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[["}]}', 100)).toBe(3);
    expect(jsonDepth('"\\"["', 100)).toBe(0);
    expect(jsonDepth('['.repeat(1_000_000), 256)).toBe(257);
  });

  it('refuses a file larger than the limit, by its size, before reading it', async () => {
    const f = write('big.json', `{"configs":[],"pad":"${'x'.repeat(4096)}"}`);
    const err = await readInputText(f, 'config dump', { ...INPUT_LIMITS, maxBytes: 1024 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain('config dump is 4119 bytes, larger than the 1024 bytes mesh-verify reads');
  });
});

const HAVE_MKFIFO = (() => {
  try { execFileSync('mkfifo', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
})();

describe.skipIf(!HAVE_MKFIFO)(`pipes and FIFOs${HAVE_MKFIFO ? '' : ' (skipped: mkfifo is not installed)'}`, () => {
  it('a FIFO with no writer ends in an InputError instead of blocking forever', async () => {
    const fifo = join(dir, 'no-writer.fifo');
    execFileSync('mkfifo', [fifo]);
    const err = await readInputText(fifo, 'bundle file', { ...INPUT_LIMITS, pipeIdleMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain('is a pipe that no process wrote to within 0.3 s');
  });

  it('a FIFO whose writer comes a little later is read whole', async () => {
    const fifo = join(dir, 'late-writer.fifo');
    execFileSync('mkfifo', [fifo]);
    const text = readFileSync(fixturePath('healthy'), 'utf8');
    const writer = (async () => {
      await new Promise((r) => setTimeout(r, 100));
      const fh = await openFile(fifo, constants.O_WRONLY);
      await fh.write(text);
      await fh.close();
    })();
    const read = await readInputText(fifo, 'bundle file', { ...INPUT_LIMITS, pipeIdleMs: 5_000 });
    await writer;
    expect(read).toBe(text);
  });
});
