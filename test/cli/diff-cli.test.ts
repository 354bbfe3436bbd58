import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli-in-process.js';
import { LAB_FAULTS } from '../../src/lab/types.js';
import type { EvidenceBundle } from '../../src/bundle/types.js';

const fixture = (name: string) => new URL(`../../fixtures/bundles/${name}.bundle.json`, import.meta.url).pathname;

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'mv-diff-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('mesh-verify diff OLD NEW', () => {
  it('exit 0 with no change for the same run, 1 with one line per change for a regression', async () => {
    const same = await runCli('diff', fixture('healthy'), fixture('healthy'));
    expect(same.status).toBe(0);
    expect(same.stdout).toMatch(/^mesh-verify diff: no change in 7 segments \(exit 0\)\n/);
    const worse = await runCli('diff', fixture('healthy'), fixture('permissive-svc'));
    expect(worse.status).toBe(1);
    const rows = worse.stdout.trim().split('\n').slice(3);
    expect(rows.filter((l) => !l.startsWith('CHANGED'))).toEqual(['REGRESSED  bff-sidecar->svc-sidecar  status: proven -> contradicted']);
    // The fixtures are two real lab runs, each with its own gateway credential: that shows as
    // neutral changes on the edge hops, naming the new run's certificate (read from its bundle).
    const shown = (JSON.parse(await readFile(fixture('permissive-svc'), 'utf8')) as EvidenceBundle).client!.peerChain[0];
    const neutral = rows.filter((l) => l.startsWith('CHANGED'));
    expect(neutral).toContainEqual(expect.stringMatching(new RegExp(`^CHANGED +client->nlb +server certificate \\(sha256\\): [0-9a-f]{64} -> ${shown.fingerprint256}$`)));
    expect(neutral).toContainEqual(expect.stringMatching(new RegExp(`^CHANGED +nlb->gateway +certificate notAfter: \\S+ -> ${shown.notAfter}$`)));
    for (const l of neutral) expect(l).toMatch(/^CHANGED +(client->nlb|nlb->gateway) +(server certificate \(sha256\)|certificate notAfter): /);
    const json = JSON.parse((await runCli('diff', fixture('healthy'), fixture('permissive-svc'), '-o', 'json')).stdout);
    expect(json.changes.filter((c: { kind: string }) => c.kind !== 'changed')).toHaveLength(1);
    expect(json.changes).toHaveLength(1 + neutral.length);
    expect((await runCli('diff', fixture('healthy'), fixture('permissive-svc'), '-o', 'junit')).stdout).toContain('failures="1"');
  });

  it('takes a signed bundle by its envelope too, and is listed in --help with verify', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { copyFile } = await import('node:fs/promises');
    const { parseSigningKey } = await import('../../src/bundle/dsse.js');
    const { signBundleFile } = await import('../../src/bundle/signature-files.js');
    const signed = join(dir, 'signed.bundle.json');
    await copyFile(fixture('healthy'), signed);
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const envelope = await signBundleFile(signed, parseSigningKey(pem));
    const r = await runCli('diff', envelope, fixture('plaintext-gateway-bff'));
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('REGRESSED  gateway->bff-sidecar  status: proven -> contradicted');
    const help = await runCli('--help');
    expect(help.stdout).toMatch(/^ {2}verify \[options\] <bundle>/m);
    expect(help.stdout).toMatch(/^ {2}diff \[options\] <old> <new>/m);
  });

  it('bad input is exit 2 with one line naming the file', async () => {
    const notJson = join(dir, 'x.json');
    await writeFile(notJson, 'hello');
    const r = await runCli('diff', fixture('healthy'), notJson);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`mesh-verify: ${notJson}: is not JSON (it does not start with "{" or "[")`);
    expect((await runCli('diff', fixture('healthy'))).status).toBe(2);
  });

  it('two lab runs of the healthy path: nothing regressed; each lab fault (one run live, the others recorded from lab runs) regressed against it', async () => {
    const a = join(dir, 'a.json'); const b = join(dir, 'b.json'); const f = join(dir, 'fault.json');
    expect((await runCli('path', '--lab', '--requests', '2', '--bundle', a, '-q', '-o', 'json')).status).toBe(0);
    expect((await runCli('path', '--lab', '--requests', '2', '--bundle', b, '-q', '-o', 'json')).status).toBe(0);
    expect((await runCli('path', '--lab', '--requests', '2', '--fault', 'plaintext-gateway-bff', '--bundle', f, '-q', '-o', 'json')).status).toBe(1);
    const same = await runCli('diff', a, b, '-o', 'json');
    const d = JSON.parse(same.stdout);
    expect(d.counts.regressed).toBe(0);
    expect(same.status).toBe(0);
    // Each lab run makes its own certificates: only the gateway credential's fingerprint and expiry
    // show, as neutral changes; the mesh hops' renewed workload certificates are not reported.
    for (const c of d.changes) {
      expect(c.kind).toBe('changed');
      expect(['certificate', 'cert-expiry']).toContain(c.field);
      expect(['client->nlb', 'nlb->gateway']).toContain(c.segment);
    }
    const worse = await runCli('diff', a, f);
    expect(worse.status).toBe(1);
    expect(worse.stdout).toMatch(/^REGRESSED  gateway->bff-sidecar +status: proven -> contradicted$/m);
    // Before and after each of the other lab faults: this run's healthy bundle against the fault's
    // bundle recorded from a real lab run (fixtures/bundles; test/e2e/path-lab.test.ts runs every
    // fault live, and the live fault above is diffed live).
    for (const fault of LAB_FAULTS.filter((x) => x !== 'plaintext-gateway-bff')) {
      const file = fixture(fault);
      // The recording, judged at its own run's time (as diff judges each run): the fault is there.
      const { run } = JSON.parse(await readFile(file, 'utf8')) as EvidenceBundle;
      expect((await runCli('analyze', file, '--now', run.finishedAt ?? run.startedAt, '-q')).status, fault).toBe(fault === 'stats-filtered' ? 0 : 1);
      const d = await runCli('diff', a, file, '-o', 'json');
      expect(d.status, fault).toBe(1);
      const regressed = JSON.parse(d.stdout).changes.filter((c: { kind: string }) => c.kind === 'regressed');
      if (fault === 'stats-filtered') {
        // Still proven from the access logs and certificates: what the diff sees is the lost counters.
        expect(regressed.map((c: { message: string }) => c.message)).toContain('evidence level lost: traffic');
      } else {
        expect(regressed.some((c: { field: string }) => c.field === 'status'), `${fault}: ${d.stdout}`).toBe(true);
      }
    }
  }, 180_000); // three lab runs, each a real control plane and Envoys (a hang guard, not a target)
});
