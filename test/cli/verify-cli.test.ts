import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { EvidenceBundle } from '../../src/bundle/types.js';
import { runCli } from '../helpers/cli-in-process.js';
import { readSigningKey, signBundleFile } from '../../src/bundle/signature-files.js';
import { createRootCa } from '../../src/pki/ca.js';

const fixture = (name: string) => new URL(`../../fixtures/bundles/${name}.bundle.json`, import.meta.url).pathname;
const fixtureRun = (name: string) => (JSON.parse(readFileSync(fixture(name), 'utf8')) as EvidenceBundle).run;
// The fixtures are real lab recordings whose workload certificates live one hour: judge them at
// their own run time (read from the bundle).
const NOW = fixtureRun('healthy').startedAt;

let dir: string;
let priv: string; let pub: string; let otherPub: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mv-verify-'));
  const k = generateKeyPairSync('ed25519');
  const o = generateKeyPairSync('ed25519');
  priv = join(dir, 'signer.pem'); pub = join(dir, 'signer.pub'); otherPub = join(dir, 'other.pub');
  await writeFile(priv, k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(pub, k.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(otherPub, o.publicKey.export({ type: 'spki', format: 'pem' }));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

async function signedCopy(name: string, keyFile = priv): Promise<string> {
  const file = join(dir, `${name}-${Math.random().toString(16).slice(2)}.bundle.json`);
  await copyFile(fixture(name), file);
  await signBundleFile(file, await readSigningKey(keyFile));
  return file;
}

describe('mesh-verify verify BUNDLE --key PUB', () => {
  it('verifies a signed bundle (exit 0), named by the bundle or by its envelope', async () => {
    const file = await signedCopy('healthy');
    const r = await runCli('verify', file, '--key', pub);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^VERIFIED: .*healthy.*: signature verified \(ed25519, sha256:[0-9a-f]{64}, signed /);
    // What was signed about the run, restated from the bundle's own record of it.
    const run = fixtureRun('healthy');
    expect(r.stdout).toContain(`run ${run.id} ${run.startedAt} -> ${run.finishedAt} by mesh-verify ${run.tool.version}; `
      + `target ${run.target.kind}${run.target.simulated ? ' (SIMULATED)' : ''}: ${run.target.description}\n`);
    expect((await runCli('verify', `${file}.dsse.json`, '--key', pub)).status).toBe(0);
    const json = JSON.parse((await runCli('verify', file, '--key', pub, '-o', 'json')).stdout);
    expect(json).toMatchObject({ status: 'verified', exitCode: 0, statement: { _type: 'https://in-toto.io/Statement/v1' } });
  });

  it('exit 1 (tampered) for one changed byte of the bundle and for a wrong key', async () => {
    const file = await signedCopy('healthy');
    const other = await runCli('verify', file, '--key', otherPub);
    expect(other.status).toBe(1);
    expect(other.stdout).toMatch(/^TAMPERED: .*signature does not verify with --key \(sha256:[0-9a-f]+\): the bundle was signed by sha256:/);
    const bytes = await readFile(file);
    const at = bytes.indexOf('"mtls"') + 2;
    bytes[at] = 'M'.charCodeAt(0);
    await writeFile(file, bytes);
    const changed = await runCli('verify', file, '--key', pub);
    expect(changed.status).toBe(1);
    expect(changed.stdout).toMatch(/^TAMPERED: .*the bundle was changed after signing/);
  });

  it('exit 2 for an unsigned bundle, a missing file, a broken envelope or an unusable key, one line each', async () => {
    const unsigned = await runCli('verify', fixture('healthy'), '--key', pub);
    expect(unsigned.status).toBe(2);
    expect(unsigned.stderr).toMatch(/healthy\.bundle\.json: is not signed \(no healthy\.bundle\.json\.dsse\.json beside it\) \(fix: sign it with/);
    expect((await runCli('verify', join(dir, 'nope.json'), '--key', pub)).status).toBe(2);
    const file = await signedCopy('healthy');
    await writeFile(`${file}.dsse.json`, '{"payloadType": "text/plain", "payload": "", "signatures": []}');
    const broken = await runCli('verify', file, '--key', pub);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toContain('is a DSSE envelope of payloadType "text/plain", not application/vnd.in-toto+json');
    const noKey = await runCli('verify', file);
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain('verify needs --key FILE');
    const privAsKey = await runCli('verify', file, '--key', priv);
    expect(privAsKey.status).toBe(2);
    expect(privAsKey.stderr).toMatch(/signer\.pem: is a private key; verification needs only the public key \(fix: extract it: openssl pkey/);
    for (const r of [unsigned, broken, noKey, privAsKey]) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exit 3 when --key is a certificate whose validity ended; a --now inside it verifies', async () => {
    const ca = await createRootCa('bundle signer', { now: new Date(NOW), notBeforeMs: -86400_000, notAfterMs: 86400_000 });
    const keyFile = join(dir, 'signer-cert.key'); const certFile = join(dir, 'signer.crt');
    await writeFile(keyFile, ca.keyPem); await writeFile(certFile, ca.certPem);
    const file = await signedCopy('healthy', keyFile);
    const later = await runCli('verify', file, '--key', certFile, '--now', new Date(Date.parse(NOW) + 3 * 86400_000).toISOString());
    expect(later.status).toBe(3);
    expect(later.stdout).toMatch(/^KEY EXPIRED: .*signature and digest hold .*but the key's certificate \(CN=bundle signer, O=mesh-verify\) expired /);
    expect(later.stdout).toContain(`expired ${ca.notAfter.toISOString().slice(0, 19)}`);
    expect((await runCli('verify', file, '--key', certFile, '--now', NOW)).status).toBe(0);
  });
});

describe('mesh-verify analyze of a signed bundle', () => {
  it('re-judges it and says whether the signature held', async () => {
    const file = await signedCopy('healthy');
    const held = await runCli('analyze', file, '--key', pub, '--now', NOW, '-o', 'json');
    expect(held.status).toBe(0);
    const report = JSON.parse(held.stdout);
    expect(report.signature).toMatchObject({ status: 'verified', keyid: expect.stringMatching(/^sha256:/) });
    expect(report.notes).toContainEqual(expect.stringMatching(/^Signature held: signature verified/));
    const unchecked = await runCli('analyze', file, '--now', NOW);
    expect(unchecked.status).toBe(0);
    expect(unchecked.stdout).toContain('NOTE: Signed bundle, signature not checked (pass --key PUB)');
    // The envelope named instead of the bundle is analyzed the same.
    expect((await runCli('analyze', `${file}.dsse.json`, '--key', pub, '--now', NOW)).status).toBe(0);
  });

  it('exit 1 when the signature did not hold even though every segment is proven; exit 2 with --key on an unsigned bundle', async () => {
    const file = await signedCopy('healthy');
    const wrong = await runCli('analyze', file, '--key', otherPub, '--now', NOW, '-o', 'markdown');
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toContain('> **Note:** SIGNATURE DID NOT HOLD (treat this evidence as tampered): signature does not verify');
    expect(wrong.stdout).toContain('7 proven, 0 contradicted, 0 inconclusive (exit 1; signature DID NOT HOLD)');
    const unsigned = await runCli('analyze', fixture('healthy'), '--key', pub, '--now', NOW);
    expect(unsigned.status).toBe(2);
    expect(unsigned.stderr).toContain('is not signed');
    // Unsigned and no --key: as before.
    expect((await runCli('analyze', fixture('healthy'), '--now', NOW)).status).toBe(0);
  });
});

describe('mesh-verify path --sign-key', () => {
  it('refuses --sign-key without a bundle to sign, and a bad key, before any work (exit 2)', async () => {
    const none = await runCli('path', '--lab', '--sign-key', priv, '-q');
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('--sign-key signs the saved bundle, but no bundle is saved (fix: add --bundle FILE or --report-dir DIR)');
    const pubAsKey = await runCli('path', '--lab', '--sign-key', pub, '--bundle', join(dir, 'x.json'), '-q');
    expect(pubAsKey.status).toBe(2);
    expect(pubAsKey.stderr).toContain('signer.pub: holds a public key or certificate, not a private key');
  });

  it('signs the bundle of a lab run, which then verifies', async () => {
    const out = join(dir, 'lab-run');
    const run = await runCli('path', '--lab', '--requests', '2', '--report-dir', out, '--sign-key', priv, '-q', '-o', 'json');
    expect(run.status).toBe(0);
    const v = await runCli('verify', join(out, 'bundle.json'), '--key', pub, '-o', 'json');
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout).statement.predicate.target).toMatchObject({ kind: 'lab', simulated: true });
  }, 60_000);
});
