import { describe, expect, it } from 'vitest';
import { diffRuns, type RunDiff } from '../../src/analyze/diff.js';
import { renderDiff } from '../../src/report/diff-report.js';
import { X509Certificate } from 'node:crypto';
import { analyzeAtRun, loadFixture, proxy, FIXTURE_NAMES } from './fixture-bundles.js';
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

/*
 * Facts read from the recordings themselves (fixtures/bundles are real lab runs): each lab run mints
 * its own gateway credential and workload certificates, so their fingerprints and dates differ from
 * one recording to the next.
 */
interface Leaf { fingerprint: string; issuer: string; notAfter: string }

function leafOfPem(pem: string): Leaf {
  const c = new X509Certificate(pem);
  return {
    fingerprint: c.fingerprint256.replaceAll(':', '').toLowerCase(),
    issuer: c.issuer.split('\n').join(', '),
    notAfter: new Date(c.validTo).toISOString(),
  };
}

/** The leaf of a secret in a proxy's config dump (Envoy's SecretsConfigDump, inline PEM). */
function secretLeaf(b: EvidenceBundle, proxyId: string, secretName: string): Leaf {
  const dump = JSON.parse((proxy(b, proxyId).admin.configDump as { body: string }).body) as { configs: { '@type': string; dynamic_active_secrets?: { name: string; secret: { tls_certificate?: { certificate_chain?: { inline_string?: string; inline_bytes?: string } } } }[] }[] };
  const secrets = dump.configs.find((c) => c['@type'].endsWith('SecretsConfigDump'))?.dynamic_active_secrets ?? [];
  const chain = secrets.find((x) => x.name === secretName)?.secret.tls_certificate?.certificate_chain;
  const pem = chain?.inline_string ?? (chain?.inline_bytes ? Buffer.from(chain.inline_bytes, 'base64').toString('utf8') : undefined);
  if (!pem) throw new Error(`${b.run.id}: no certificate in secret ${secretName} of ${proxyId}`);
  return leafOfPem(pem);
}

/** The certificate the external client was shown (the gateway's, through an L4 NLB). */
const clientLeaf = (b: EvidenceBundle): Leaf => leafOfPem(b.client!.peerChain[0].pem);
/** The credential the gateway serves on the path (from its config dump). */
const gatewayLeaf = (b: EvidenceBundle): Leaf => {
  const name = b.path.segments.find((s) => s.id === 'nlb->gateway')?.hints.serverSecret;
  if (!name) throw new Error('nlb->gateway names no server secret');
  return secretLeaf(b, 'gateway', name);
};

/** The neutral changes a new edge certificate makes on one hop: fingerprint, then expiry. */
function certificateLines(segment: string, a: Leaf, b: Leaf): string[] {
  return [
    ...(a.fingerprint !== b.fingerprint ? [`changed ${segment} certificate: ${a.fingerprint} -> ${b.fingerprint}`] : []),
    ...(a.notAfter !== b.notAfter ? [`changed ${segment} cert-expiry: ${a.notAfter} -> ${b.notAfter}`] : []),
  ];
}

/** Another lab run's own gateway credential, as the diff must show it (both edge hops). */
function credentialLines(a: EvidenceBundle, b: EvidenceBundle): string[] {
  return [...certificateLines('client->nlb', clientLeaf(a), clientLeaf(b)), ...certificateLines('nlb->gateway', gatewayLeaf(a), gatewayLeaf(b))];
}

const sorted = (v: string[]) => [...new Set(v)].sort().join(' | ');

describe('the recordings this test reads', () => {
  it('hold a gateway credential of their own in each lab run (so the diff must show it as a neutral change)', () => {
    const healthy = loadFixture('healthy');
    const other = loadFixture('plaintext-gateway-bff');
    // Through the L4 NLB the client is shown exactly the credential the gateway serves.
    expect(clientLeaf(healthy)).toEqual(gatewayLeaf(healthy));
    expect(gatewayLeaf(other).fingerprint).not.toBe(gatewayLeaf(healthy).fingerprint);
    expect(credentialLines(healthy, other)).toHaveLength(4);
  });
});

describe('diff of two runs, segment by segment', () => {
  it('finds no change between two identical runs (exit 0)', () => {
    const d = diffRuns(loadFixture('healthy'), loadFixture('healthy'));
    expect(d.changes).toEqual([]);
    expect(d.segmentsCompared).toBe(7);
    expect(d.exitCode).toBe(0);
    expect(renderDiff(d, 'table').split('\n')[0]).toBe('mesh-verify diff: no change in 7 segments (exit 0)');
  });

  it('calls every fault a regression against the healthy run (exit 1), naming what changed on which hop', () => {
    const healthy = loadFixture('healthy');
    const got = Object.fromEntries(FIXTURE_NAMES.filter((n) => n !== 'healthy').map((n) => [n, diffRuns(loadFixture('healthy'), loadFixture(n))]));
    for (const d of Object.values(got)) expect(d.exitCode).toBe(1);
    // Every fault run minted its own gateway credential: a neutral change on both edge hops, and
    // the only change besides the fault's.
    for (const n of ['plaintext-gateway-bff', 'permissive-svc', 'no-sidecar-svc', 'expired-cert', 'foreign-root', 'stats-filtered'] as const) {
      const edge = lines(got[n]).filter((l) => / (client->nlb|nlb->gateway) (certificate|cert-expiry):/.test(l));
      expect(edge, n).toEqual(credentialLines(healthy, loadFixture(n)));
      expect(got[n].changes.filter((c) => c.field === 'certificate' || (c.field === 'cert-expiry' && c.segment !== 'bff-sidecar->svc-sidecar')).every((c) => c.kind === 'changed'), n).toBe(true);
    }
    expect(lines(got['plaintext-gateway-bff'])).toEqual([
      ...credentialLines(healthy, loadFixture('plaintext-gateway-bff')),
      'regressed gateway->bff-sidecar status: proven -> contradicted',
      'regressed gateway->bff-sidecar observed: mtls -> plaintext',
    ]);
    expect(lines(got['permissive-svc'])).toEqual([
      ...credentialLines(healthy, loadFixture('permissive-svc')),
      'regressed bff-sidecar->svc-sidecar status: proven -> contradicted',
    ]);
    expect(lines(got['no-sidecar-svc'])).toContain('regressed bff-sidecar->svc-sidecar observed: mtls -> plaintext');

    // expired-cert: svc's workload certificate had expired when the run started; bff's had not.
    const expired = loadFixture('expired-cert');
    const mesh = (b: EvidenceBundle) => ['bff', 'svc'].map((id) => secretLeaf(b, id, 'default'));
    expect(Date.parse(secretLeaf(expired, 'svc', 'default').notAfter)).toBeLessThan(Date.parse(expired.run.startedAt));
    expect(lines(got['expired-cert'])).toContain(
      `regressed bff-sidecar->svc-sidecar cert-expiry: ${sorted(mesh(healthy).map((l) => l.notAfter))} -> ${sorted(mesh(expired).map((l) => l.notAfter))}`);

    // foreign-root: svc's certificate comes from another root; bff's still from the mesh's.
    const foreign = loadFixture('foreign-root');
    expect(secretLeaf(foreign, 'svc', 'default').issuer).not.toBe(secretLeaf(foreign, 'bff', 'default').issuer);
    expect(lines(got['foreign-root'])).toContain(
      `changed bff-sidecar->svc-sidecar issuer: ${sorted(mesh(healthy).map((l) => l.issuer))} -> ${sorted(mesh(foreign).map((l) => l.issuer))}`);

    // nlb-terminates-tls: the client is shown the NLB's own certificate, from another CA.
    const nlb = loadFixture('nlb-terminates-tls');
    expect(clientLeaf(nlb).issuer).not.toBe(clientLeaf(healthy).issuer);
    expect(lines(got['nlb-terminates-tls'])).toEqual(expect.arrayContaining([
      'regressed client->nlb status: proven -> contradicted',
      `changed client->nlb certificate: ${clientLeaf(healthy).fingerprint} -> ${clientLeaf(nlb).fingerprint}`,
      `changed client->nlb issuer: ${clientLeaf(healthy).issuer} -> ${clientLeaf(nlb).issuer}`,
      'regressed nlb->gateway evidence-level: identity -> -',
    ]));
    // The gateway still serves its own credential: nlb->gateway is judged from the gateway's side
    // (its config dump and what it logged of the NLB's re-originated TLS), not from the NLB's
    // certificate the client saw; its names and issuer did not change.
    const loggedTls = (b: EvidenceBundle) => sorted(proxy(b, 'gateway').accessLog.map((l) => String(JSON.parse(l).downstream_tls_version)));
    const loggedCipher = (b: EvidenceBundle) => sorted(proxy(b, 'gateway').accessLog.map((l) => String(JSON.parse(l).downstream_tls_cipher)));
    expect(gatewayLeaf(nlb).fingerprint).not.toBe(clientLeaf(nlb).fingerprint);
    expect(lines(got['nlb-terminates-tls']).filter((l) => l.includes(' nlb->gateway '))).toEqual([
      ...(loggedTls(healthy) !== loggedTls(nlb) ? [`regressed nlb->gateway tls-version: ${loggedTls(healthy)} -> ${loggedTls(nlb)}`] : []),
      ...(loggedCipher(healthy) !== loggedCipher(nlb) ? [`changed nlb->gateway cipher: ${loggedCipher(healthy)} -> ${loggedCipher(nlb)}`] : []),
      ...certificateLines('nlb->gateway', gatewayLeaf(healthy), gatewayLeaf(nlb)),
      'regressed nlb->gateway evidence-level: identity -> -',
    ]);

    // stats-filtered: still proven, but every hop that had counter (traffic) evidence lost it.
    const withTraffic = (b: EvidenceBundle) => analyzeAtRun(b).segments.filter((v) => v.levels.includes('traffic')).map((v) => v.id);
    const lost = withTraffic(healthy).filter((id) => !withTraffic(loadFixture('stats-filtered')).includes(id));
    expect(lost.length).toBeGreaterThan(0);
    expect(lines(got['stats-filtered'])).toEqual([
      ...credentialLines(healthy, loadFixture('stats-filtered')),
      ...lost.map((id) => `regressed ${id} evidence-level: traffic -> -`),
    ]);
  });

  it('calls another peer identity on a mesh hop a regression', () => {
    const healthy = loadFixture('healthy');
    const was = sorted([
      ...proxy(healthy, 'bff').accessLog.map((l) => JSON.parse(l)).filter((e) => String(e.upstream_cluster).startsWith('inbound|')).map((e) => e.downstream_peer_uri_san),
      ...proxy(healthy, 'gateway').accessLog.map((l) => JSON.parse(l)).filter((e) => String(e.upstream_cluster).includes('bff.mesh-verify')).map((e) => e.upstream_peer_uri_san),
    ]);
    const impostor = 'spiffe://cluster.local/ns/elsewhere/sa/impostor';
    const d = diffRuns(loadFixture('healthy'), withAccessField(loadFixture('healthy'), 'gateway', 'upstream_peer_uri_san', impostor));
    expect(lines(d)).toContain(`regressed gateway->bff-sidecar peer-identity: ${was} -> ${sorted([...was.split(' | ').filter((x) => !x.includes('/sa/bff')), impostor])}`);
    expect(d.exitCode).toBe(1);
  });

  it('calls the repair an improvement (exit 0)', () => {
    const d = diffRuns(loadFixture('plaintext-gateway-bff'), loadFixture('healthy'));
    expect(lines(d)).toEqual([
      ...credentialLines(loadFixture('plaintext-gateway-bff'), loadFixture('healthy')),
      'improved gateway->bff-sidecar status: contradicted -> proven',
      'improved gateway->bff-sidecar observed: plaintext -> mtls',
    ]);
    expect(d.exitCode).toBe(0);
  });

  it('compares the negotiated TLS version and cipher where both bundles record them, and only then', () => {
    const old = withAccessField(loadFixture('healthy'), 'bff', 'downstream_tls_cipher', 'TLS_AES_128_GCM_SHA256');
    // Both ends of gateway->bff-sidecar log the session: bff as downstream, the gateway as upstream.
    const downgraded = withAccessField(withAccessField(withAccessField(loadFixture('healthy'), 'bff', 'downstream_tls_version', 'TLSv1.2'),
      'gateway', 'upstream_tls_version', 'TLSv1.2'), 'bff', 'downstream_tls_cipher', 'ECDHE-RSA-AES128-GCM-SHA256');
    // The gateway logs the cipher of its upstream side of the same session.
    const downgradedBoth = withAccessField(downgraded, 'gateway', 'upstream_tls_cipher', 'ECDHE-RSA-AES128-GCM-SHA256');
    const d = diffRuns(old, downgradedBoth);
    expect(lines(d)).toEqual([
      'regressed gateway->bff-sidecar tls-version: TLSv1.3 -> TLSv1.2',
      'changed gateway->bff-sidecar cipher: TLS_AES_128_GCM_SHA256 -> ECDHE-RSA-AES128-GCM-SHA256',
    ]);
    expect(d.exitCode).toBe(1);
    // The same cipher as recorded: no change.
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
    // Besides the fault, the other run's own gateway credential shows as neutral changes.
    const changed = credentialLines(loadFixture('healthy'), loadFixture('plaintext-gateway-bff')).length;
    expect(JSON.parse(renderDiff(d, 'json'))).toMatchObject({ kind: 'mesh-verify/run-diff', exitCode: 1, counts: { regressed: 2, improved: 0, changed } });
    const md = renderDiff(d, 'markdown');
    expect(md).toContain(`## mesh-verify diff: ❌ ${2 + changed} change(s): 2 regressed, 0 improved, ${changed} changed (exit 1)`);
    expect(md).toContain('| REGRESSED | gateway-&gt;bff-sidecar | status | proven | contradicted |');
    const junit = renderDiff(d, 'junit');
    expect(junit).toMatch(/<testsuites name="mesh-verify" tests="7" failures="1"/);
    expect(junit).toContain('<failure message="status: proven -&gt; contradicted; observed protection: mtls -&gt; plaintext" type="regressed">');
    expect(renderDiff(d, 'table').split('\n').filter((l) => l.startsWith('REGRESSED'))).toEqual([
      'REGRESSED  gateway->bff-sidecar  status: proven -> contradicted',
      'REGRESSED  gateway->bff-sidecar  observed protection: mtls -> plaintext',
    ]);
  });
});
