import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAVE_REFERENCE, SKIP_REASON, referencePath } from '../helpers/reference.js';

const bin = new URL('../../bin/mesh-verify.js', import.meta.url).pathname;
const fixture = (name: string) => new URL(`../../fixtures/envoy/${name}`, import.meta.url).pathname;

interface Run { status: number | null; stdout: string; stderr: string }
function run(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'inspect', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mv-inspect-'));
  writeFileSync(join(dir, 'empty.json'), '');
  writeFileSync(join(dir, 'not.json'), 'hello: world\n');
  writeFileSync(join(dir, 'truncated.json'), '{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.Listen');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mesh-verify inspect: bad input gets one line and exit 2', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['missing file', () => ['--file', join(dir, 'nope.json')], /nope\.json: config dump not found/],
    ['a directory', () => ['--file', dir], /is a directory/],
    ['an empty file', () => ['--file', join(dir, 'empty.json')], /empty\.json: config dump is empty/],
    ['non-JSON', () => ['--file', join(dir, 'not.json')], /not\.json: is not JSON/],
    ['truncated JSON', () => ['--file', join(dir, 'truncated.json')], /truncated\.json: JSON is truncated/],
    ['a non-Istio Envoy dump', () => ['--file', fixture('plain-envoy-config_dump.json')], /plain-envoy-config_dump\.json: not an Istio proxy config dump .*mesh-verify inspects Istio proxies/],
    ['a /certs file given as --file', () => ['--file', fixture('sidecar-strict-certs.json')], /is not an Envoy config dump/],
    ['a bad --stats file', () => ['--file', fixture('sidecar-strict-config_dump.json'), '--stats', fixture('sidecar-strict-certs.json')], /holds no Envoy stats/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await run(...args());
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toMatch(/^mesh-verify: /);
    });
  }
  it('prints the stack trace only with --debug', async () => {
    const r = await run('--file', fixture('plain-envoy-config_dump.json'), '--debug');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('mesh-verify inspect output', () => {
  it('-o json carries the contract fields, with --certs and --stats facts', async () => {
    const r = await run('--file', fixture('sidecar-strict-config_dump.json'), '--certs', fixture('sidecar-strict-certs.json'),
      '--stats', fixture('sidecar-stats.json'), '--now', '2025-06-01T00:00:00Z', '-o', 'json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['proxy', 'inbound', 'listeners', 'clusters', 'secrets', 'certificates', 'stats']));
    expect(j.proxy).toMatchObject({ type: 'sidecar', istioVersion: '1.24.2' });
    expect(j.inbound).toContainEqual(expect.objectContaining({ port: 8080, mode: 'STRICT', inEffect: true }));
    for (const l of j.listeners) expect(Object.keys(l)).toEqual(expect.arrayContaining(['name', 'port', 'state', 'downstreamTls', 'secrets']));
    for (const c of j.clusters) expect(Object.keys(c)).toEqual(expect.arrayContaining(['name', 'upstreamTls', 'sans', 'verifiesServer', 'controlPlane']));
    expect(j.secrets[0]).toMatchObject({ name: 'default', state: 'active', kind: 'certificate', expired: false, notAfter: '2026-01-01T00:00:00.000Z' });
    expect(j.certificates.entries.map((e: { role: string; secret: string | null }) => [e.role, e.secret])).toEqual([['ca', 'ROOTCA'], ['chain', 'default']]);
    expect(j.certificates.minDaysUntilExpiration).toBe(214);
    expect(j.stats).toMatchObject({ statCount: 5, dataPlaneSslStats: false, listeners: [], clusters: [{ name: 'xds-grpc', controlPlane: true, handshakes: 0 }] });
    expect(j.stats.notes.join(' ')).toMatch(/absence is not evidence of plaintext/);
  });

  it('table output: sections, upper-case headers, gateway credential and TLS counters', async () => {
    const r = await run('--file', fixture('gateway-tls-config_dump.json'), '--stats', fixture('gateway-stats.txt'), '--now', '2025-06-01T00:00:00Z');
    expect(r.status).toBe(0);
    const sections = r.stdout.trim().split('\n\n').map((block) => block.split('\n')[0].split(' (')[0]);
    expect(sections).toEqual(['PROXY', 'INBOUND', 'LISTENERS', 'CLUSTERS', 'CONTROL-PLANE CLUSTERS', 'SECRETS', 'TLS COUNTERS']);
    expect(r.stdout).toMatch(/^0\.0\.0\.0_8443 +8443 +active +mixed +1 tls, 1 passthrough +kubernetes:\/\/mesh-verify-credential$/m);
    expect(r.stdout).toMatch(/^0\.0\.0\.0_9443 +9443 +warming +mtls/m);
    expect(r.stdout).toMatch(/^listener +0\.0\.0\.0_8443 +7 +1 +-$/m);
    expect(r.stdout).toMatch(/^kubernetes:\/\/mtls-credential +warming +unknown +- +- +- +0$/m);
  });

  it.skipIf(!HAVE_REFERENCE)(`real 1.18.2 dump: inbound not in effect, long lists cut with counts ${HAVE_REFERENCE ? '' : SKIP_REASON}`, async () => {
    const r = await run('--file', referencePath('envoy/istio-1.18.2-sidecar-geo-config_dump.json'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^8083 +PERMISSIVE +no +virtualInbound$/m);
    expect(r.stdout).toMatch(/^virtualInbound +15006 +error/m);
    expect(r.stdout).toMatch(/\.\.\. 139 more active plaintext listeners/);
    expect(r.stdout).toMatch(/^138 clusters: .*28 auto-mtls with mtls endpoints/m);
    expect(r.stdout.split('\n').length).toBeLessThan(60);
  });
});
