import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  // V8 quotes the input in this message ("Unexpected token 's', ..."); it must not reach the terminal.
  writeFileSync(join(dir, 'bad-token.json'), '{"configs": [ sk-live-0123456789\n, {"x": 1} ]}');
  writeFileSync(join(dir, 'bad-position.json'), '{"configs": [],\n  ,}');
  // PowerShell's `>` and Windows editors write UTF-8 with a BOM.
  writeFileSync(join(dir, 'bom.json'), `\ufeff${readFileSync(fixture('sidecar-strict-config_dump.json'), 'utf8')}`);
  // Sections present, nothing readable: Envoy's listener section in a layout no Envoy writes.
  writeFileSync(join(dir, 'unreadable.json'), JSON.stringify({ configs: [
    { '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', listeners_v9: [{ name: 'a' }] },
    { '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump' },
  ] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mesh-verify inspect: bad input gets one line and exit 2', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['missing file', () => ['--file', join(dir, 'nope.json')], /nope\.json: config dump not found/],
    ['a directory', () => ['--file', dir], /is a directory/],
    ['an empty file', () => ['--file', join(dir, 'empty.json')], /empty\.json: config dump is empty/],
    ['non-JSON', () => ['--file', join(dir, 'not.json')], /not\.json: is not JSON/],
    ['truncated JSON', () => ['--file', join(dir, 'truncated.json')], /truncated\.json: JSON is truncated/],
    ['invalid JSON (no input bytes echoed)', () => ['--file', join(dir, 'bad-token.json')], /bad-token\.json: is not valid JSON \(fix: /],
    ['invalid JSON with a position', () => ['--file', join(dir, 'bad-position.json')], /bad-position\.json: is not valid JSON \(line 2, column 3\)/],
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
      expect(lines[0]).not.toMatch(/sk-live/);
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
    // The gateway's SNI hosts (filter_chain_match.server_names) are in the table.
    expect(r.stdout).toMatch(/^0\.0\.0\.0_8443 +8443 +active +mixed +1 tls, 1 passthrough +kubernetes:\/\/mesh-verify-credential +mesh-verify\.example\.com,passthrough\.example\.com +-$/m);
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

  it('accepts a UTF-8 BOM', async () => {
    const r = await run('--file', join(dir, 'bom.json'), '--now', '2025-06-01T00:00:00Z', '-o', 'json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).proxy.type).toBe('sidecar');
  });

  it('C6: days left are computed at --now, never copied from the capture', async () => {
    // The capture says days_until_expiration "214" (true on 2025-06-01); the leaf expires
    // 2026-01-01, so on 2026-12-02 it has expired: Envoy would compute that too
    // (source/common/tls/utility.cc getDaysUntilExpiration: ASN1_TIME_diff to now).
    const args = ['--file', fixture('sidecar-strict-config_dump.json'), '--certs', fixture('sidecar-strict-certs.json')];
    const later = await run(...args, '--now', '2026-12-02T00:00:00Z', '-o', 'json');
    expect(later.status).toBe(0);
    const chain = JSON.parse(later.stdout).certificates.entries.find((e: { role: string }) => e.role === 'chain');
    expect(chain).toMatchObject({ daysUntilExpiration: -335, expired: true, capturedDaysUntilExpiration: 214 });
    expect(JSON.parse(later.stdout).certificates.minDaysUntilExpiration).toBe(-335);
    const table = await run(...args, '--now', '2026-12-02T00:00:00Z');
    expect(table.stdout).toMatch(/^chain +010ada5c1d7e6f09f00003 +spiffe:\/\/cluster\.local\/ns\/mesh-verify\/sa\/svc +expired 335 days ago +2026-01-01T00:00:00Z +default$/m);
    expect(table.stdout).not.toMatch(/ 214 /);
    const earlier = await run(...args, '--now', '2025-12-01T00:00:00Z', '-o', 'json');
    expect(JSON.parse(earlier.stdout).certificates.entries.map((e: { daysUntilExpiration: number }) => e.daysUntilExpiration)).toEqual([3316, 31]);
  });

  it('C5: a dump from which nothing could be read warns and exits 3', async () => {
    const r = await run('--file', join(dir, 'unreadable.json'));
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^mesh-verify: warning: .*unreadable\.json: ListenersConfigDump: no listener could be read from 1 entry under listeners_v9 \(layout not recognised\)$/),
      expect.stringMatching(/^mesh-verify: warning: .*unreadable\.json: ClustersConfigDump is empty: this dump holds no clusters$/),
      expect.stringMatching(/^mesh-verify: .*unreadable\.json: nothing in this config dump could be read \(sections: ListenersConfigDump, ClustersConfigDump\)/),
    ]);
  });

  it('C1: istiod\'s camelCase /debug/config_dump is read (real istio 1.6.0 testdata)', async () => {
    const r = await run('--file', fixture('istiod-1.6-debug-config_dump-camelcase.json'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^172\.30\.150\.195_9080 +9080 +active +mtls +1 mtls +default,ROOTCA/m);
    expect(r.stdout).toMatch(/^read as: camelCase JSON names/m);
  });

  it('C2/C5: Envoy 1.12 layout, file-mounted certificates and Istio\'s own ports in the table', async () => {
    const r = await run('--file', fixture('istio-1.3-envoy-1.12-sidecar-productpage-config_dump.EXCERPT.json'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^9080 +PERMISSIVE +yes +virtualInbound$/m);
    expect(r.stdout).toMatch(/^virtualInbound +15006 +active +mixed +1 mtls, 6 none +\/etc\/certs\/cert-chain\.pem,\/etc\/certs\/root-cert\.pem/m);
    expect(r.stdout).not.toMatch(/<inline>/);
    // istio.io "Ports used by Istio": 15090 is Envoy's Prometheus telemetry.
    expect(r.stdout).toMatch(/^0\.0\.0\.0_15090 +15090 +active +none +1 none +- +- +Istio: Envoy Prometheus telemetry$/m);
    expect(r.stdout).toMatch(/^sidecar +\S+ +1\.3\.0-rc\.2 +1\.12\.0-dev +default +productpage-v1-7bbd79f8fd-k6j79$/m);
  });

  it('C3/C4: a waypoint is named; SPIFFE trust domains are listed with their expiry', async () => {
    const w = await run('--file', fixture('istio-1.21-waypoint-config_dump.json'));
    expect(w.status).toBe(0);
    expect(w.stdout).toMatch(/^waypoint \(ambient L7 proxy\) +waypoint~\S+ +1\.21\.0-1226 +- +default +httpbin-istio-waypoint-58f646c5ff-dbfkz$/m);
    expect(w.stdout).toMatch(/^0\.0\.0\.0_15021 +15021 .*Istio: health checks$/m);
    const s = await run('--file', fixture('istio-spire-trust-domains-secrets-config_dump.json'), '--now', '2026-12-02T00:00:00Z');
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/^ROOTCA +active +trust-bundle +trust domains east\.local,west\.local +2034-10-23T13:23:05\.000Z +no +2$/m);
    expect(s.stdout).toMatch(/^ {2}west\.local +- +trust domain +- +2034-10-23T13:23:05\.000Z +no +1$/m);
  });

  it('C5: a gateway listener whose only certificate is warming says it cannot complete a handshake', async () => {
    const r = await run('--file', fixture('gateway-tls-config_dump.json'), '--now', '2025-06-01T00:00:00Z');
    expect(r.stdout).toMatch(/^0\.0\.0\.0_9443: cannot complete a TLS handshake: its only certificate kubernetes:\/\/mtls-credential is still warming/m);
  });
});
