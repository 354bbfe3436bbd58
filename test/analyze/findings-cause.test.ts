import { describe, expect, it } from 'vitest';
import type { EvidenceBundle } from '../../src/bundle/types.js';
import { istioObjectName } from '../../src/analyze/path-findings.js';
import { HAVE_REFERENCE, SKIP_REASON, readReferenceText } from '../helpers/reference.js';
import { analyzeAtRun, editAccessLog, editConfigDump, loadFixture, proxy, segment } from './fixture-bundles.js';

const GATEWAY_TO_BFF = 'outbound|8080||bff.mesh-verify.svc.cluster.local';

/**
 * `path --scenario dr-disable` on a STRICT bff (issue 9 D5): the DestinationRule gives the
 * gateway's cluster to bff no TLS socket, bff's virtualInbound has only `transport_protocol: tls`
 * chains for 8080, so it closes the plaintext connection and the gateway answers every request
 * 503 with response flag UC ("Upstream connection termination in addition to 503 response code",
 * Envoy docs configuration/observability/access_log/usage.rst). Nothing reaches bff or svc.
 * The plaintext-gateway-bff fixture (recorded from the lab with real Envoy) has the gateway
 * cluster with the metadata istiod writes (`filter_metadata.istio.config`,
 * pilot/pkg/networking/util/util.go AddConfigInfoMetadata, set for a DestinationRule in
 * pilot/pkg/networking/core/cluster_builder.go, Istio 1.30.3); bff's counters stay as they were.
 */
function drDisableOnStrictBff(): EvidenceBundle {
  const b = loadFixture('plaintext-gateway-bff');
  editConfigDump(proxy(b, 'bff'), (dump) => {
    for (const c of dump.configs) {
      for (const l of (c.dynamic_listeners ?? []) as { name: string; active_state: { listener: { filter_chains: { filter_chain_match?: Record<string, unknown> }[] } } }[]) {
        if (l.name !== 'virtualInbound') continue;
        const chains = l.active_state.listener.filter_chains;
        l.active_state.listener.filter_chains = chains.filter((fc) => !(fc.filter_chain_match?.destination_port === 8080 && fc.filter_chain_match?.transport_protocol === 'raw_buffer'));
      }
    }
  });
  editAccessLog(proxy(b, 'gateway'), (e) => Object.assign(e, { response_code: 503, response_flags: 'UC', upstream_transport_failure_reason: '-', bytes_sent: 95 }));
  for (const id of ['bff', 'svc']) {
    const p = proxy(b, id);
    p.accessLog = [];
    p.admin.statsAfter = p.admin.statsBefore;
    p.admin.prometheusAfter = p.admin.prometheusBefore;
  }
  for (const r of b.requests) Object.assign(r, { status: 503, response: null });
  return b;
}

describe('findings name the cause (issue 9 D5)', () => {
  it('reads the Istio object from the cluster metadata path istiod writes', () => {
    expect(istioObjectName('/apis/networking.istio.io/v1/namespaces/mesh-verify/destination-rule/bff')).toBe('DestinationRule mesh-verify/bff');
    expect(istioObjectName('/apis/networking.istio.io/v1alpha3/namespaces/default/destination-rule/app1-destination')).toBe('DestinationRule default/app1-destination');
    expect(istioObjectName('not a path')).toBeNull();
  });

  it('a run where every request got 503: counts, where it was logged, and the DestinationRule that caused it', () => {
    const b = drDisableOnStrictBff();
    const r = analyzeAtRun(b);
    expect(segment(r, 'gateway->bff-sidecar').status).toBe('contradicted');
    const failed = r.findings.find((f) => f.code === 'requests-failed');
    expect(failed).toMatchObject({ severity: 'error', object: `requests to web.mesh-verify.test via ${b.path.entry.address}:${b.path.entry.port}` });
    expect(failed?.message).toContain("all 5 of this run's requests failed: 5 answered HTTP 503");
    expect(failed?.message).toContain(`gateway logged 5 x 503 UC upstream_cluster ${GATEWAY_TO_BFF}`);
    expect(failed?.evidence.map((e) => `${e.level} ${e.proxy} ${e.source} ${e.effect}`)).toEqual(['request client probe contradicts', 'request gateway access_log contradicts']);
    expect(failed?.message).toContain('made by DestinationRule mesh-verify/bff tls.mode DISABLE, and bff port 8080 accepts only mTLS (STRICT)');
    expect(failed?.fix).toBe('set tls.mode ISTIO_MUTUAL in DestinationRule mesh-verify/bff (or delete its tls block so auto mTLS applies): '
      + 'it makes gateway send plaintext to bff.mesh-verify.svc.cluster.local; bff port 8080 is STRICT and refuses plaintext, so the requests fail');
    const cluster = r.findings.find((f) => f.code === 'cluster-without-tls');
    expect(cluster?.object).toBe(`cluster ${GATEWAY_TO_BFF} on gateway`);
    expect(cluster?.evidence.map((e) => e.observed)).toContain('/apis/networking.istio.io/v1/namespaces/mesh-verify/destination-rule/bff');
    expect(r.findings.map((f) => f.code)).not.toContain('plaintext-accepted');
    expect(JSON.stringify(r.findings)).not.toContain('plaintext caller');
  });

  it('requests that got no answer at all are counted by error, and the fix points at the entry', () => {
    const b = loadFixture('healthy');
    const entry = `${b.path.entry.address}:${b.path.entry.port}`;
    // Node's message for a refused connect (net.connect to a closed port).
    for (const r of b.requests) Object.assign(r, { status: null, error: `connect ECONNREFUSED ${entry}`, response: null });
    for (const p of b.proxies) p.accessLog = [];
    const f = analyzeAtRun(b).findings.find((x) => x.code === 'requests-failed');
    expect(f?.message).toBe(`all 5 of this run's requests failed: 5 got no answer (connect ECONNREFUSED ${entry})`);
    expect(f?.fix).toContain(`nothing answered at ${entry}: pass the NLB or gateway address with --entry HOST:PORT`);
  });

  it('some failed requests are a warning with the split per outcome', () => {
    const b = loadFixture('healthy');
    b.requests[0].status = 503;
    b.requests[1].status = null;
    b.requests[1].error = 'socket hang up';
    const f = analyzeAtRun(b).findings.find((x) => x.code === 'requests-failed');
    expect(f).toMatchObject({ severity: 'warning', message: "2 of 5 of this run's requests failed: 1 answered HTTP 503, 1 got no answer (socket hang up)" });
  });

  it('DestinationRule DISABLE on a PERMISSIVE bff: plaintext-accepted names the cluster and the DestinationRule, not "the plaintext caller"', () => {
    // Real Envoy: no istio_requests_total, and bff's HCM counters show no new connection during the
    // run (the gateway reused a connection opened before it): bff's access log is the evidence.
    const r = analyzeAtRun(loadFixture('plaintext-gateway-bff'));
    const f = r.findings.find((x) => x.code === 'plaintext-accepted');
    expect(f?.message).toBe(`bff accepted 5 of this run's request(s) in plaintext on port 8080 during the run (gateway's cluster ${GATEWAY_TO_BFF} has no TLS transport socket, made by DestinationRule mesh-verify/bff tls.mode DISABLE)`);
    expect(f?.evidence).toEqual([expect.objectContaining({ proxy: 'bff', source: 'access_log', level: 'request', effect: 'contradicts', observed: "- (no TLS) (5 of this run's requests)" })]);
    expect(f?.fix).toMatch(/^set tls\.mode ISTIO_MUTUAL in DestinationRule mesh-verify\/bff .*; then make bff port 8080 STRICT/);
    expect(f?.fix).not.toContain('plaintext caller');
  });

  it('a PERMISSIVE port whose counters show plaintext connections is judged by them; with neither counters nor plaintext lines there is no finding', () => {
    // permissive-svc: svc's counters show the plaintext caller; this run's own requests were mTLS.
    const f = analyzeAtRun(loadFixture('permissive-svc')).findings.find((x) => x.code === 'plaintext-accepted');
    expect(f?.evidence.map((e) => e.source)).toEqual(['stats']);
    // plaintext-gateway-bff with bff's inbound lines showing TLS: nothing says bff accepted plaintext.
    const b = loadFixture('plaintext-gateway-bff');
    editAccessLog(proxy(b, 'bff'), (e) => { if (String(e.upstream_cluster).startsWith('inbound|')) e.downstream_tls_version = 'TLSv1.3'; });
    expect(analyzeAtRun(b).findings.map((x) => x.code)).not.toContain('plaintext-accepted');
  });

  it('a plaintext caller without a sidecar is named in the fix', () => {
    const f = analyzeAtRun(loadFixture('permissive-svc')).findings.find((x) => x.code === 'plaintext-accepted');
    // Upstream Envoy has no istio_requests_total (no source_workload label): svc's counters show
    // the plaintext connection but cannot name its caller, and the fix says so.
    expect(f?.message).toMatch(/^svc accepted [1-9]\d* plaintext connection\(s\) on port 8080 during the run from a caller without a sidecar/);
    expect(f?.fix).toBe('give that caller a sidecar, then make svc port 8080 STRICT (PeerAuthentication mtls.mode STRICT in namespace mesh-verify)');
  });
});

describe('verdicts and findings blame only what the evidence shows (issue 9 D7)', () => {
  it('permissive-svc: mTLS for this run\'s requests, and the receiver also accepted plaintext from another caller', () => {
    const s = segment(analyzeAtRun(loadFixture('permissive-svc')), 'bff-sidecar->svc-sidecar');
    // Plaintext at the receiver during the run still contradicts the hop (product decision), but the
    // run's own requests were mTLS: observed says so, and the summary names the other caller.
    expect(s.status).toBe('contradicted');
    expect(s.observed).toBe('mtls');
    // Real Envoy: svc's inbound HCM counters (connections minus TLS connections), no Istio telemetry.
    expect(s.summary).toMatch(new RegExp("^mTLS for this run's requests \\(stats, access log, xfcc\\); "
      + 'the receiver svc also accepted [1-9]\\d* plaintext connection\\(s\\) on port 8080 during the run; svc port 8080 is PERMISSIVE$'));
  });

  it('when this run\'s own requests were plaintext too, the summary says so as before', () => {
    const s = segment(analyzeAtRun(loadFixture('plaintext-gateway-bff')), 'gateway->bff-sidecar');
    expect(s.observed).toBe('plaintext');
    expect(s.summary).toMatch(/^expected mTLS, but /);
  });

  it('foreign-root as the lab makes it (svc\'s certificate and ROOTCA from another root): only svc is blamed', () => {
    // The recorded lab run (src/lab/lab-pki.ts issueWorkloadIdentity): with foreign-root, svc's
    // `default` and its `ROOTCA` both come from the foreign root.
    const r = analyzeAtRun(loadFixture('foreign-root'));
    const foreignRoot = r.findings.filter((f) => f.code === 'cert-foreign-root');
    expect(foreignRoot.map((f) => f.object)).toEqual(['secret default on svc']);
    expect(foreignRoot[0].message).toBe('the workload certificate of svc (issuer CN=foreign mesh root, O=other.mesh) chains to CN=foreign mesh root, O=other.mesh, '
      + 'not to the mesh root CN=mesh-verify lab mesh root, O=cluster.local that gateway, bff trust');
    expect(r.findings.find((f) => f.code === 'trust-roots-differ')?.message).toBe('proxies trust different roots: gateway+bff vs svc');
  });

  it.skipIf(!HAVE_REFERENCE)(`a real Istio 1.22.3 sidecar of another mesh as bff: only bff's certificate is foreign (${HAVE_REFERENCE ? 'reference present' : SKIP_REASON})`, () => {
    const b = loadFixture('healthy');
    editConfigDump(proxy(b, 'bff'), (dump) => Object.assign(dump, JSON.parse(readReferenceText('envoy/istio-1.22.3-sidecar-app1-config_dump.json'))));
    const r = analyzeAtRun(b);
    expect(r.findings.filter((f) => f.code === 'cert-foreign-root').map((f) => f.object)).toEqual(['secret default on bff']);
  });
});
