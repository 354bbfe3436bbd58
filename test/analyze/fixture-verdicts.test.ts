import { describe, expect, it } from 'vitest';
import { FIXTURE_NAMES, analyzeAtRun, loadFixture, proxy, segment, statuses, type FixtureName } from './fixture-bundles.js';

const P = 'proven';
const C = 'contradicted';
const I = 'inconclusive';
const SEGMENTS = ['client->nlb', 'nlb->gateway', 'gateway->bff-sidecar', 'bff-sidecar->bff', 'bff->bff-sidecar', 'bff-sidecar->svc-sidecar', 'svc-sidecar->svc'];

/**
 * Every segment's expected status per fixture, in path order, with the exit code and finding codes.
 * The fixtures are recordings of lab runs with real Envoy (scripts/make-fixture-bundles.ts): there
 * is no istio_requests_total (upstream Envoy has no istio.stats), the gateway's pooled connection
 * to bff is opened before the run, and the lab's certificates and NLB are real ones.
 */
const EXPECTED: Record<FixtureName, { statuses: string[]; exit: number; findings: string[] }> = {
  'healthy': { statuses: [P, P, P, P, P, P, P], exit: 0, findings: [] },
  'plaintext-gateway-bff': { statuses: [P, P, C, P, P, P, P], exit: 1, findings: ['cluster-without-tls', 'plaintext-accepted', 'inbound-permissive'] },
  'permissive-svc': { statuses: [P, P, P, P, P, C, P], exit: 1, findings: ['plaintext-accepted', 'inbound-permissive'] },
  'no-sidecar-svc': { statuses: [P, P, P, P, P, C, I], exit: 1, findings: ['proxy-not-captured'] },
  'expired-cert': { statuses: [P, P, P, P, P, C, I], exit: 1, findings: ['cert-expired'] },
  // The lab's foreign-root svc also trusts that other root (its ROOTCA), as a proxy of another mesh would.
  'foreign-root': { statuses: [P, P, P, P, P, C, I], exit: 1, findings: ['cert-foreign-root', 'trust-roots-differ'] },
  // The lab's NLB serves a certificate of its own CA: the client's verification against the gateway CA fails too.
  'nlb-terminates-tls': { statuses: [C, P, P, P, P, P, P], exit: 1, findings: ['tls-terminated-before-gateway', 'client-chain-untrusted'] },
  // No ssl.* stats (Istio's default matcher), but the access logs and XFCC of real Envoy prove every hop.
  'stats-filtered': { statuses: [P, P, P, P, P, P, P], exit: 0, findings: ['ssl-stats-not-present', 'ssl-stats-not-present', 'ssl-stats-not-present'] },
};

describe.each(FIXTURE_NAMES)('fixture %s', (name) => {
  const report = analyzeAtRun(loadFixture(name));
  const want = EXPECTED[name];

  it('judges every segment of the path', () => {
    expect(statuses(report)).toEqual(Object.fromEntries(SEGMENTS.map((id, i) => [id, want.statuses[i]])));
  });

  it('sets overall, counts and the exit code', () => {
    expect(report.exitCode).toBe(want.exit);
    expect(report.overall).toBe(want.exit === 0 ? 'proven' : want.exit === 1 ? 'contradicted' : 'inconclusive');
    expect(report.counts).toEqual({
      proven: want.statuses.filter((s) => s === P).length,
      contradicted: want.statuses.filter((s) => s === C).length,
      inconclusive: want.statuses.filter((s) => s === I).length,
    });
  });

  it('reports exactly the expected findings', () => {
    expect(report.findings.map((f) => f.code)).toEqual(want.findings);
  });

  it('names every evidence item (level, source, subject, observed) and backs each verdict', () => {
    for (const s of report.segments) {
      expect(s.evidence.length).toBeGreaterThan(0);
      for (const e of s.evidence) {
        expect(e.source).not.toBe('');
        expect(e.subject).not.toBe('');
        expect(e.observed).not.toBe('');
      }
      if (s.status === 'proven') expect(s.evidence.some((e) => e.effect === 'supports' && e.source !== 'config_dump')).toBe(true);
      if (s.status === 'contradicted') expect(s.evidence.some((e) => e.effect === 'contradicts')).toBe(true);
      if (s.status === 'inconclusive') expect(s.evidence.every((e) => e.effect !== 'contradicts')).toBe(true);
    }
  });
});

describe('what the faults look like in the evidence', () => {
  it('gateway->bff plaintext: the gateway cluster has no TLS, both access logs show plaintext, XFCC is absent, no Istio telemetry', () => {
    const s = segment(analyzeAtRun(loadFixture('plaintext-gateway-bff')), 'gateway->bff-sidecar');
    expect(s.observed).toBe('plaintext');
    const find = (source: string, subject: string) => s.evidence.find((e) => e.source === source && e.subject.includes(subject));
    expect(find('config_dump', 'cluster outbound|8080||bff.mesh-verify.svc.cluster.local')).toMatchObject({ effect: 'contradicts', proxy: 'gateway' });
    expect(find('access_log', 'upstream_tls_version')).toMatchObject({ effect: 'contradicts', proxy: 'gateway' });
    expect(find('access_log', 'downstream_tls_version')).toMatchObject({ effect: 'contradicts', proxy: 'bff' });
    // Upstream Envoy has no istio.stats filter: no istio_requests_total, so no prometheus evidence.
    expect(s.evidence.filter((e) => e.source === 'prometheus')).toEqual([]);
    expect(find('xfcc', 'header')?.observed).toMatch(/^absent/);
    expect(find('config_dump', 'virtualInbound port 8080')?.observed).toContain('PERMISSIVE');
  });

  it('permissive svc: this run\'s requests used mTLS, yet the inbound HCM counters show a plaintext connection', () => {
    const b = loadFixture('permissive-svc');
    const r = analyzeAtRun(b);
    const s = segment(r, 'bff-sidecar->svc-sidecar');
    expect(s.evidence.filter((e) => e.source === 'access_log' && e.subject.endsWith('downstream_tls_version')).map((e) => e.effect)).toEqual(['supports']);
    // Without istio_requests_total the proof is svc's own counters: connections minus TLS connections.
    const plain = s.evidence.find((e) => e.source === 'stats' && e.effect === 'contradicts');
    expect(plain).toMatchObject({ proxy: 'svc', subject: 'http.inbound_0.0.0.0_8080.downstream_cx_total - downstream_cx_ssl_total' });
    expect(plain?.observed).toMatch(/= [1-9]\d* plaintext connection/);
    expect(s.summary).toMatch(/the receiver svc also accepted [1-9]\d* plaintext connection\(s\) on port 8080 during the run/);
    expect(s.caveats).toEqual(['svc port 8080 is PERMISSIVE']);
    expect(r.findings.find((f) => f.code === 'inbound-permissive')?.object).toBe(`pod mesh-verify/${proxy(b, 'svc').pod.name} port 8080`);
  });

  it('svc without a sidecar: bff uses the plaintext socket match; the svc loopback cannot be judged', () => {
    const r = analyzeAtRun(loadFixture('no-sidecar-svc'));
    const hop = segment(r, 'bff-sidecar->svc-sidecar');
    expect(hop.evidence.find((e) => e.source === 'stats' && e.subject.endsWith(';.ssl.handshake'))).toMatchObject({ effect: 'contradicts', proxy: 'bff' });
    expect(hop.evidence.find((e) => e.source === 'stats' && e.subject.endsWith(';.ssl.handshake'))?.observed).toMatch(/^\+0 with [1-9]\d* new connection/);
    expect(hop.evidence.find((e) => e.subject.startsWith('cluster outbound|8080||svc'))?.observed).toContain('no endpoint has tlsMode=istio');
    const loop = segment(r, 'svc-sidecar->svc');
    expect(loop.summary).toContain('has no istio-proxy container');
    expect(loop.observed).toBe('unknown');
  });

  it('expired and foreign-root certificates contradict the mTLS hop at the identity level', () => {
    const b = loadFixture('expired-cert');
    const expired = segment(analyzeAtRun(b), 'bff-sidecar->svc-sidecar');
    const notAfter = expired.evidence.find((e) => e.subject === 'secret default: notAfter' && e.proxy === 'svc');
    expect(notAfter).toMatchObject({ effect: 'contradicts', level: 'identity' });
    expect(new Date(notAfter!.observed.split(' ')[0]).getTime()).toBeLessThan(new Date(b.run.startedAt).getTime());
    expect(expired.summary).toContain('CERTIFICATE_VERIFY_FAILED');
    expect(expired.summary).toContain(`the server certificate of svc expired on ${notAfter!.observed.slice(0, 10)}`);
    // Real Envoy's reason names the expiry (BoringSSL's verify_cert_failed detail).
    expect(expired.evidence.find((e) => e.subject.endsWith('upstream_transport_failure_reason'))?.observed).toContain('certificate_has_expired');
    const foreign = segment(analyzeAtRun(loadFixture('foreign-root')), 'bff-sidecar->svc-sidecar');
    expect(foreign.evidence.find((e) => e.subject === 'secret default: chain to ROOTCA of bff')).toMatchObject({ effect: 'contradicts', proxy: 'svc' });
  });

  it('TLS terminated at the NLB: the client saw a certificate that is not the gateway credential', () => {
    const r = analyzeAtRun(loadFixture('nlb-terminates-tls'));
    const s = segment(r, 'client->nlb');
    expect(s.observed).toBe('tls');
    expect(s.summary).toMatch(/TLS was terminated before the gateway: the client saw CN=web\.mesh-verify\.test \(sha256 [0-9a-f]{16}…\), not kubernetes:\/\/mesh-verify-credential of gateway/);
    expect(segment(r, 'nlb->gateway').evidence.find((e) => e.subject.startsWith('peer certificate vs kubernetes://mesh-verify-credential'))?.effect).toBe('neutral');
    expect(r.findings.find((f) => f.code === 'client-chain-untrusted')?.message).toContain('did not verify against the gateway CA');
  });

  it('stats filtered: no ssl.* stats anywhere, every hop proven by access logs and XFCC, and the report says why stats are silent', () => {
    const r = analyzeAtRun(loadFixture('stats-filtered'));
    for (const s of r.segments) {
      expect(s.evidence.filter((e) => e.source === 'stats').every((e) => e.effect === 'neutral')).toBe(true);
      if (s.from !== 'client') expect(s.levels).not.toContain('traffic');
    }
    const hop = segment(r, 'gateway->bff-sidecar');
    expect(hop.summary).toBe('mTLS proven by access log, xfcc');
    const ssl = hop.evidence.find((e) => e.source === 'stats' && e.proxy === 'gateway');
    expect(ssl).toMatchObject({ effect: 'neutral', observed: 'ssl stats not present (proxyStatsMatcher)' });
    expect(ssl?.note).toContain('their absence is not plaintext');
    expect(r.findings.every((f) => f.code === 'ssl-stats-not-present' && f.severity === 'info')).toBe(true);
  });
});
