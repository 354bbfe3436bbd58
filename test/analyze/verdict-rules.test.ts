import { labDescription } from '../../src/path/lab-target.js';
import { describe, expect, it } from 'vitest';
import type { EvidenceBundle, ProxyCapture } from '../../src/bundle/types.js';
import { HAVE_REFERENCE, SKIP_REASON, readReferenceText } from '../helpers/reference.js';
import type { CertificateInfo } from '../../src/envoy/types.js';
import { analyzeBundle } from '../../src/analyze/analyze-bundle.js';
import { expiringSoon } from '../../src/analyze/certificate-evidence.js';
import { inspectConfigDump } from '../../src/envoy/config-dump.js';
import { analyzeAtRun, editAccessLog, loadFixture, proxy, segment, statuses } from './fixture-bundles.js';

/** notAfter (ms) of the leaf of a secret in a proxy's recorded config dump. */
function leafNotAfter(p: ProxyCapture, secret: string, b: EvidenceBundle): number {
  const posture = inspectConfigDump(JSON.parse((p.admin.configDump as { body: string }).body), { now: new Date(b.run.startedAt) });
  const leaf = posture.secrets.find((s) => s.name === secret && s.kind === 'certificate')?.chain[0];
  if (!leaf) throw new Error(`no certificate secret ${secret} on ${p.id}`);
  return new Date(leaf.notAfter).getTime();
}

function statBefore(p: ProxyCapture, name: string): number {
  const line = (p.admin.statsBefore as { body: string }).body.split('\n').find((l) => l.startsWith(`${name}: `));
  return line ? Number(line.slice(name.length + 2)) : 0;
}

/** Make the run's delta of a counter `delta` (after = before + delta; the recorded before value is real). */
function setDelta(p: ProxyCapture, name: string, delta: number): void {
  setStat(p, name, statBefore(p, name) + delta);
}

function setStat(p: ProxyCapture, name: string, value: number): void {
  const a = p.admin.statsAfter as { body: string };
  const lines = a.body.split('\n').filter((l) => l && !l.startsWith(`${name}: `));
  a.body = [...lines, `${name}: ${value}`].join('\n') + '\n';
}

/** Only config dumps left: no stats, telemetry, access logs, app answers or client handshake. */
function configOnly(b: EvidenceBundle): EvidenceBundle {
  for (const p of b.proxies) {
    Object.assign(p.admin, { statsBefore: null, statsAfter: null, prometheusBefore: null, prometheusAfter: null });
    p.accessLog = [];
  }
  for (const r of b.requests) r.response = null;
  b.client = null;
  return b;
}

describe('verdict rules', () => {
  it('no evidence at all is inconclusive everywhere (exit 3), never proven', () => {
    const b = loadFixture('healthy');
    for (const p of b.proxies) {
      p.reachable = false;
      p.errors = [{ endpoint: '/config_dump', phase: 'once', message: 'port-forward failed' }];
      p.admin = { serverInfo: null, configDump: null, certs: null, clusters: null, statsBefore: null, statsAfter: null, prometheusBefore: null, prometheusAfter: null };
      p.accessLog = [];
    }
    b.client = null;
    b.requests = [];
    const r = analyzeAtRun(b);
    expect(new Set(Object.values(statuses(r)))).toEqual(new Set(['inconclusive']));
    expect(r.exitCode).toBe(3);
    expect(r.findings.filter((f) => f.code === 'proxy-not-captured')).toHaveLength(3);
  });

  it('config alone shows intent and never proves a segment', () => {
    const r = analyzeAtRun(configOnly(loadFixture('healthy')));
    expect(new Set(Object.values(statuses(r)))).toEqual(new Set(['inconclusive']));
    const hop = segment(r, 'bff-sidecar->svc-sidecar');
    expect(hop.evidence.some((e) => e.effect === 'supports' && e.source === 'config_dump')).toBe(true);
    expect(hop.summary).toMatch(/^config shows mTLS \(intent\), but nothing from the wire confirms it/);
  });

  it('cluster.xds-grpc.ssl.* never counts as data-plane evidence', () => {
    const b = configOnly(loadFixture('healthy'));
    const gw = proxy(b, 'gateway');
    const plain = loadFixture('stats-filtered');
    gw.admin.statsBefore = proxy(plain, 'gateway').admin.statsBefore;
    gw.admin.statsAfter = proxy(plain, 'gateway').admin.statsAfter;
    setStat(gw, 'cluster.xds-grpc.ssl.handshake', 40);
    setStat(gw, 'cluster.xds-grpc.upstream_cx_total', 40);
    const r = analyzeAtRun(b);
    const hop = segment(r, 'gateway->bff-sidecar');
    expect(hop.status).toBe('inconclusive');
    expect(hop.evidence.find((e) => e.source === 'stats')?.note).toContain('cluster.xds-grpc.ssl.handshake=40 is the proxy\'s control-plane connection');
  });

  it('pooled connections: requests without new handshakes are not a contradiction', () => {
    const b = loadFixture('healthy');
    const hop = segment(analyzeAtRun(b), 'gateway->bff-sidecar');
    expect(hop.status).toBe('proven');
    // Istio >= 1.23 names cluster stats after alt_stat_name `<name>;` (the fixtures have that shape).
    const pooled = hop.evidence.find((e) => e.subject === 'cluster.outbound|8080||bff.mesh-verify.svc.cluster.local;.ssl.handshake');
    expect(pooled).toMatchObject({ effect: 'neutral', observed: '+0 (upstream_rq_total +5, upstream_cx_total +0)' });
    expect(pooled?.note).toContain('pooled connections');
  });

  it("reads cluster stats without the ';' of Istio >= 1.23 (cluster.<name>.ssl.handshake) like the ';' spelling", () => {
    const b = loadFixture('healthy');
    const bff = proxy(b, 'bff');
    const c = 'cluster.outbound|8080||svc.mesh-verify.svc.cluster.local';
    // The fixtures have Istio >= 1.23's `;` spelling; check the plain one (older Istio) reads the same.
    for (const snap of [bff.admin.statsBefore, bff.admin.statsAfter] as { body: string }[]) {
      snap.body = snap.body.split(`${c};.`).join(`${c}.`);
    }
    setStat(bff, `${c}.upstream_cx_total`, 9);
    setStat(bff, `${c}.ssl.handshake`, 2);
    const hop = segment(analyzeAtRun(b), 'bff-sidecar->svc-sidecar');
    expect(hop.evidence.find((e) => e.subject === `${c}.ssl.handshake`)).toMatchObject({ level: 'traffic', proxy: 'bff' });
  });

  it('new upstream connections without a TLS handshake contradict an mTLS hop', () => {
    const b = loadFixture('healthy');
    const bff = proxy(b, 'bff');
    const c = 'cluster.outbound|8080||svc.mesh-verify.svc.cluster.local;';
    setDelta(bff, `${c}.upstream_cx_total`, 7);
    setDelta(bff, `${c}.ssl.handshake`, 0);
    const hop = segment(analyzeAtRun(b), 'bff-sidecar->svc-sidecar');
    expect(hop.status).toBe('contradicted');
    expect(hop.evidence.find((e) => e.subject === `${c}.ssl.handshake`)).toMatchObject({ effect: 'contradicts', observed: '+0 with 7 new connection(s)' });
  });

  it('an XFCC Hash that is not the calling proxy\'s certificate contradicts the hop', () => {
    const b = loadFixture('healthy');
    for (const r of b.requests) {
      const h = r.response?.headers as Record<string, string>;
      h['x-forwarded-client-cert'] = h['x-forwarded-client-cert'].replace(/Hash=[0-9a-f]+/, `Hash=${'ab'.repeat(32)}`);
    }
    const hop = segment(analyzeAtRun(b), 'gateway->bff-sidecar');
    expect(hop.status).toBe('contradicted');
    expect(hop.summary).toContain('XFCC Hash is not the SHA-256 of gateway\'s workload certificate');
  });

  it('an unexpected peer identity in the access log contradicts the hop', () => {
    const b = loadFixture('healthy');
    editAccessLog(proxy(b, 'svc'), (e) => { e.downstream_peer_uri_san = 'spiffe://cluster.local/ns/other/sa/intruder'; });
    const hop = segment(analyzeAtRun(b), 'bff-sidecar->svc-sidecar');
    expect(hop.status).toBe('contradicted');
    expect(hop.evidence.find((e) => e.subject.endsWith('downstream_peer_uri_san'))).toMatchObject({
      effect: 'contradicts', level: 'identity', expected: 'spiffe://cluster.local/ns/mesh-verify/sa/bff',
    });
  });

  it('certificates expiring within --cert-warn-days (and past half their life) are warnings, not contradictions', () => {
    const b = loadFixture('healthy');
    // The lab's workload certificates live an hour (issued a minute before the run), its gateway
    // credential three months: at the run's time none is past half its life.
    expect(analyzeAtRun(b, { certWarnDays: 4000 }).findings).toEqual([]);
    // Ten minutes before the workload certificates expire: past half their life, within a day.
    const leafEnd = leafNotAfter(proxy(b, 'svc'), 'default', b);
    const r = analyzeBundle(b, { now: new Date(leafEnd - 10 * 60_000), certWarnDays: 1 });
    const codes = r.findings.map((f) => `${f.code} ${f.object}`);
    expect(codes).toContain('cert-expiring secret default on svc');
    expect(codes).not.toContain('cert-expiring secret kubernetes://mesh-verify-credential on gateway');
    expect(r.findings.every((f) => f.severity === 'warning')).toBe(true);
    expect(r.exitCode).toBe(0);
    // A day before the gateway credential expires (the workload certificates are long expired by then).
    const credEnd = leafNotAfter(proxy(b, 'gateway'), 'kubernetes://mesh-verify-credential', b);
    const later = analyzeBundle(b, { now: new Date(credEnd - 24 * 3600_000), certWarnDays: 30 });
    expect(later.findings.find((f) => f.object === 'secret kubernetes://mesh-verify-credential on gateway')).toMatchObject({ code: 'cert-expiring', severity: 'warning' });
  });

  it('a 24-hour Istio workload certificate is not "expiring" until it is past half its life', () => {
    const cert = (hoursLived: number, hoursLeft: number, now = new Date('2026-03-02T10:00:00Z')) => ({
      notBefore: new Date(now.getTime() - hoursLived * 3600_000).toISOString(),
      notAfter: new Date(now.getTime() + hoursLeft * 3600_000).toISOString(),
    }) as CertificateInfo;
    const now = new Date('2026-03-02T10:00:00Z');
    expect(expiringSoon(cert(4, 20), now, 30)).toBe(false);
    expect(expiringSoon(cert(19, 5), now, 30)).toBe(true);
    expect(expiringSoon(cert(70 * 24, 20 * 24), now, 30)).toBe(true);
    expect(expiringSoon(cert(30 * 24, 60 * 24), now, 30)).toBe(false);
    expect(expiringSoon(cert(25, -1), now, 30)).toBe(false);
  });

  it('PERMISSIVE inbound is reported even when the run\'s requests arrived over mTLS', () => {
    const b = loadFixture('permissive-svc');
    // Take away the plaintext caller: only this run's mTLS connections reached svc's port 8080
    // (its HCM counters: every new connection a TLS one).
    const svc = proxy(b, 'svc');
    const hcm = 'http.inbound_0.0.0.0_8080.';
    const sslDelta = Number((svc.admin.statsAfter as { body: string }).body.split('\n').find((l) => l.startsWith(`${hcm}downstream_cx_ssl_total: `))?.split(': ')[1]) - statBefore(svc, `${hcm}downstream_cx_ssl_total`);
    setDelta(svc, `${hcm}downstream_cx_total`, sslDelta);
    const r = analyzeAtRun(b);
    const hop = segment(r, 'bff-sidecar->svc-sidecar');
    expect(hop.status).toBe('proven');
    expect(hop.summary).toContain('but svc port 8080 is PERMISSIVE');
    expect(r.findings.map((f) => `${f.severity} ${f.code}`)).toEqual(['warning inbound-permissive']);
    expect(r.exitCode).toBe(0);
  });

  it('works for any chain: the verdicts follow the path spec, not node or proxy names', () => {
    const b = loadFixture('healthy');
    const nodeIds: Record<string, string> = { client: 'user', nlb: 'lb', gateway: 'edge', 'bff-sidecar': 'web-proxy', bff: 'web', 'svc-sidecar': 'api-proxy', svc: 'api' };
    const proxyIds: Record<string, string> = { gateway: 'px-edge', bff: 'px-web', svc: 'px-api' };
    for (const n of b.path.nodes) {
      n.id = nodeIds[n.id];
      n.proxy = n.proxy ? proxyIds[n.proxy] : null;
    }
    for (const s of b.path.segments) {
      s.from = nodeIds[s.from];
      s.to = nodeIds[s.to];
      s.id = `${s.from}->${s.to}`;
    }
    for (const p of b.proxies) p.id = proxyIds[p.id];
    for (const r of b.requests) {
      const echo = r.response;
      if (!echo) continue;
      echo.service = nodeIds[echo.service];
      if (echo.upstream?.body) echo.upstream.body.service = nodeIds[echo.upstream.body.service];
    }
    const r = analyzeAtRun(b);
    expect(statuses(r)).toEqual({
      'user->lb': 'proven', 'lb->edge': 'proven', 'edge->web-proxy': 'proven', 'web-proxy->web': 'proven',
      'web->web-proxy': 'proven', 'web-proxy->api-proxy': 'proven', 'api-proxy->api': 'proven',
    });
    expect(segment(r, 'web-proxy->api-proxy').evidence.some((e) => e.proxy === 'px-api' && e.source === 'xfcc' && e.effect === 'supports')).toBe(true);
  });

  it('flags a config dump that does not come from an Istio proxy', () => {
    const b = loadFixture('healthy');
    (proxy(b, 'svc').admin.configDump as { body: string }).body = JSON.stringify({ configs: [
      { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: { node: { id: 'front-proxy', cluster: 'front' } } },
      { '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', static_listeners: [] },
    ] });
    const r = analyzeAtRun(b);
    expect(r.findings.find((f) => f.code === 'not-istio-proxy')?.object).toBe(`proxy svc (mesh-verify/${proxy(b, 'svc').pod.name})`);
    expect(segment(r, 'bff-sidecar->svc-sidecar').evidence.find((e) => e.subject === 'virtualInbound port 8080')).toMatchObject({ effect: 'neutral', observed: 'no inbound filter chain for this port' });
  });

  it('says plainly when the run was against the simulated lab', () => {
    const b = loadFixture('healthy');
    b.run.target = { ...b.run.target, kind: 'lab', simulated: true, description: 'local lab' };
    const r = analyzeAtRun(b);
    expect(r.target.simulated).toBe(true);
    expect(r.notes?.[0]).toMatch(/^This run was against the local lab: real Envoy proxies, real TLS and the real app on loopback, but a simulated Kubernetes API and Istio control plane/);
    // The lab on a real control plane says so in its description, and the note follows it.
    b.run.target.description = labDescription(null, '1.38.3');
    expect(analyzeAtRun(b).notes?.[0]).toMatch(/^This run was against the local lab: .* behind a real Kubernetes control plane, but a simulated node and container runtime \(kwok\) and Istio control plane/);
  });
});

describe.skipIf(!HAVE_REFERENCE)(`real Envoy captures in a bundle (${HAVE_REFERENCE ? 'reference present' : SKIP_REASON})`, () => {
  it('a real OSSM ingress gateway: no 8443 listener, and a root of its own mesh', () => {
    const b = configOnly(loadFixture('healthy'));
    (proxy(b, 'gateway').admin.configDump as { body: string }).body = readReferenceText('envoy/ossm-2.6-istio-1.20.8-ingressgateway-config_dump.json');
    const r = analyzeAtRun(b);
    expect(segment(r, 'nlb->gateway').evidence.find((e) => e.subject === 'listener 0.0.0.0_8443')?.observed).toContain('not in the config dump');
    expect(segment(r, 'gateway->bff-sidecar').evidence.find((e) => e.subject === 'cluster outbound|8080||bff.mesh-verify.svc.cluster.local')?.observed).toBe('not in the config dump');
    expect(segment(r, 'nlb->gateway').status).toBe('inconclusive');
    // That gateway belongs to another mesh: it trusts another root, so the hop to bff cannot be mTLS.
    expect(segment(r, 'gateway->bff-sidecar').summary).toBe('expected mTLS, but the server certificate of bff does not chain to the ROOTCA of gateway');
    expect(r.findings.map((f) => f.code)).toContain('trust-roots-differ');
  });

  it('a real Istio 1.22.3 sidecar dump: its PERMISSIVE port 3333 is a finding', () => {
    const b = loadFixture('healthy');
    (proxy(b, 'bff').admin.configDump as { body: string }).body = readReferenceText('envoy/istio-1.22.3-sidecar-app1-config_dump.json');
    const r = analyzeAtRun(b);
    expect(r.findings.map((f) => `${f.code} ${f.object}`)).toContain(`inbound-permissive pod mesh-verify/${proxy(b, 'bff').pod.name} port 3333`);
    // Its certificate is from another mesh: it neither carries bff's identity nor chains to our root.
    expect(segment(r, 'gateway->bff-sidecar').status).toBe('contradicted');
    expect(r.findings.some((f) => f.code === 'cert-foreign-root' && f.object === 'secret default on bff')).toBe(true);
  });
});
