import { describe, expect, it } from 'vitest';
import { diffRuns, type RunDiff } from '../../src/analyze/diff.js';
import { renderDiff } from '../../src/report/diff-report.js';
import { loadFixture, FIXTURE_NAMES } from './fixture-bundles.js';
import type { EvidenceBundle } from '../../src/bundle/types.js';

const lines = (d: RunDiff) => d.changes.map((c) => `${c.kind} ${c.segment} ${c.field}: ${c.old ?? '-'} -> ${c.new ?? '-'}`);

/**
 * Rewrite one field in the access-log lines of one proxy: `downstream_*` in the lines of what it
 * received (inbound), `upstream_*` in those of what it sent to bff.
 */
function withAccessField(b: EvidenceBundle, proxy: string, field: string, value: string): EvidenceBundle {
  const wanted = (e: { upstream_cluster?: string }) => field.startsWith('downstream_')
    ? String(e.upstream_cluster).startsWith('inbound|') : String(e.upstream_cluster).includes('bff.mesh-verify');
  for (const p of b.proxies) {
    if (p.id !== proxy) continue;
    p.accessLog = p.accessLog.map((l) => {
      const e = JSON.parse(l);
      return JSON.stringify(wanted(e) ? { ...e, [field]: value } : e);
    });
  }
  return b;
}

describe('diff of two runs, segment by segment', () => {
  it('finds no change between two identical runs (exit 0)', () => {
    const d = diffRuns(loadFixture('healthy'), loadFixture('healthy'));
    expect(d.changes).toEqual([]);
    expect(d.segmentsCompared).toBe(7);
    expect(d.exitCode).toBe(0);
    expect(renderDiff(d, 'table').split('\n')[0]).toBe('mesh-verify diff: no change in 7 segments (exit 0)');
  });

  it('calls every fault a regression against the healthy run (exit 1), naming what changed on which hop', () => {
    const got = Object.fromEntries(FIXTURE_NAMES.filter((n) => n !== 'healthy').map((n) => [n, diffRuns(loadFixture('healthy'), loadFixture(n))]));
    for (const d of Object.values(got)) expect(d.exitCode).toBe(1);
    expect(lines(got['plaintext-gateway-bff'])).toEqual([
      'regressed gateway->bff-sidecar status: proven -> contradicted',
      'regressed gateway->bff-sidecar observed: mtls -> plaintext',
    ]);
    expect(lines(got['permissive-svc'])).toEqual(['regressed bff-sidecar->svc-sidecar status: proven -> contradicted']);
    expect(lines(got['no-sidecar-svc'])).toContain('regressed bff-sidecar->svc-sidecar observed: mtls -> plaintext');
    expect(lines(got['expired-cert'])).toContain('regressed bff-sidecar->svc-sidecar cert-expiry: 2036-02-28T10:00:00.000Z -> 2026-03-01T10:00:00.000Z | 2036-02-28T10:00:00.000Z');
    expect(lines(got['foreign-root'])).toContain('changed bff-sidecar->svc-sidecar issuer: CN=mesh-verify fixture mesh root, O=cluster.local -> CN=foreign root, O=elsewhere | CN=mesh-verify fixture mesh root, O=cluster.local');
    expect(lines(got['nlb-terminates-tls'])).toEqual(expect.arrayContaining([
      'regressed client->nlb status: proven -> contradicted',
      'regressed client->nlb peer-identity: CN=web.mesh-verify.test | DNS:web.mesh-verify.test -> CN=nlb.web.mesh-verify.test | DNS:web.mesh-verify.test',
      'regressed nlb->gateway evidence-level: identity -> -',
    ]));
    expect(got['nlb-terminates-tls'].changes.find((c) => c.field === 'certificate')?.kind).toBe('changed');
    // The gateway still serves its own credential: nlb->gateway is judged from the gateway's side.
    expect(got['nlb-terminates-tls'].changes.filter((c) => c.segment === 'nlb->gateway').map((c) => c.field)).toEqual(['evidence-level']);
    expect(lines(got['stats-filtered'])).toContain('regressed gateway->bff-sidecar evidence-level: traffic -> -');
  });

  it('calls the repair an improvement (exit 0)', () => {
    const d = diffRuns(loadFixture('plaintext-gateway-bff'), loadFixture('healthy'));
    expect(lines(d)).toEqual(['improved gateway->bff-sidecar status: contradicted -> proven', 'improved gateway->bff-sidecar observed: plaintext -> mtls']);
    expect(d.exitCode).toBe(0);
  });

  it('compares the negotiated TLS version and cipher where both bundles record them, and only then', () => {
    const old = withAccessField(loadFixture('healthy'), 'bff', 'downstream_tls_cipher', 'TLS_AES_128_GCM_SHA256');
    // Both ends of gateway->bff-sidecar log the session: bff as downstream, the gateway as upstream.
    const downgraded = withAccessField(withAccessField(withAccessField(loadFixture('healthy'), 'bff', 'downstream_tls_version', 'TLSv1.2'),
      'gateway', 'upstream_tls_version', 'TLSv1.2'), 'bff', 'downstream_tls_cipher', 'ECDHE-RSA-AES128-GCM-SHA256');
    const d = diffRuns(old, downgraded);
    expect(lines(d)).toEqual([
      'regressed gateway->bff-sidecar tls-version: TLSv1.3 -> TLSv1.2',
      'changed gateway->bff-sidecar cipher: TLS_AES_128_GCM_SHA256 -> ECDHE-RSA-AES128-GCM-SHA256',
    ]);
    expect(d.exitCode).toBe(1);
    // The healthy fixture records no cipher for this hop: not compared.
    expect(diffRuns(loadFixture('healthy'), old).changes).toEqual([]);
    expect(lines(diffRuns(downgraded, old))[0]).toBe('improved gateway->bff-sidecar tls-version: TLSv1.2 -> TLSv1.3');
  });

  it('calls a segment that left the path a regression', () => {
    const fewer = loadFixture('healthy');
    fewer.path.segments = fewer.path.segments.filter((s) => s.id !== 'svc-sidecar->svc');
    expect(lines(diffRuns(loadFixture('healthy'), fewer))).toEqual(['regressed svc-sidecar->svc segment: proven -> -']);
    expect(diffRuns(fewer, loadFixture('healthy')).exitCode).toBe(0);
  });

  it('renders JSON, Markdown and JUnit (one test case per segment, failed when it regressed)', () => {
    const d = diffRuns(loadFixture('healthy'), loadFixture('plaintext-gateway-bff'));
    expect(JSON.parse(renderDiff(d, 'json'))).toMatchObject({ kind: 'mesh-verify/run-diff', exitCode: 1, counts: { regressed: 2, improved: 0, changed: 0 } });
    const md = renderDiff(d, 'markdown');
    expect(md).toContain('## mesh-verify diff: ❌ 2 change(s): 2 regressed, 0 improved, 0 changed (exit 1)');
    expect(md).toContain('| REGRESSED | gateway-&gt;bff-sidecar | status | proven | contradicted |');
    const junit = renderDiff(d, 'junit');
    expect(junit).toMatch(/<testsuites name="mesh-verify" tests="7" failures="1"/);
    expect(junit).toContain('<failure message="status: proven -&gt; contradicted; observed protection: mtls -&gt; plaintext" type="regressed">');
    expect(renderDiff(d, 'table').split('\n').slice(3, 5)).toEqual([
      'REGRESSED  gateway->bff-sidecar  status: proven -> contradicted',
      'REGRESSED  gateway->bff-sidecar  observed protection: mtls -> plaintext',
    ]);
  });
});
