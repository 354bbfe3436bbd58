import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCerts } from '../../src/envoy/certs.js';
import { parseStats, statDelta } from '../../src/envoy/stats.js';
import { istioRequests, parsePrometheus } from '../../src/envoy/prometheus.js';
import { parseClusters } from '../../src/envoy/clusters.js';
import { parseServerInfo } from '../../src/envoy/server-info.js';
import { HAVE_REFERENCE, SKIP_REASON, readReferenceJson, readReferenceText } from '../helpers/reference.js';

const fixtureText = (name: string) => readFileSync(new URL(`../../fixtures/envoy/${name}`, import.meta.url), 'utf8');

describe('/stats', () => {
  it('parses text, skipping histograms', () => {
    const s = parseStats(fixtureText('gateway-stats.txt'));
    expect(s.get('listener.0.0.0.0_8443.ssl.handshake')).toBe(7);
    expect(s.get('cluster.outbound|8080||bff.mesh-verify.svc.cluster.local;.ssl.handshake')).toBe(3);
    expect(s.get('listener.0.0.0.0_8443.ssl.versions.TLSv1.3')).toBe(7);
    expect(s.has('cluster.outbound|8080||bff.mesh-verify.svc.cluster.local;.upstream_rq_time')).toBe(false);
  });
  it('parses ?format=json with string and omitted (zero) values', () => {
    const s = parseStats(fixtureText('sidecar-stats.json'));
    expect(s.get('cluster.outbound|8080||bff.mesh-verify.svc.cluster.local;.upstream_cx_total')).toBe(4);
    expect(s.get('cluster.xds-grpc.ssl.handshake')).toBe(0);
    expect(s.size).toBe(5);
  });
  it('statDelta: null when absent after, from 0 when created lazily', () => {
    const before = parseStats('a: 1\n');
    const after = parseStats('a: 4\nb: 2\n');
    expect(statDelta(before, after, 'a')).toBe(3);
    expect(statDelta(before, after, 'b')).toBe(2);
    expect(statDelta(before, after, 'c')).toBeNull();
  });
  it.skipIf(!HAVE_REFERENCE)(`parses the real plain-Envoy text capture ${HAVE_REFERENCE ? '' : SKIP_REASON}`, () => {
    const s = parseStats(readReferenceText('envoy/envoy-front-proxy-stats-text-datadog-fixture.txt'));
    expect(s.size).toBe(278);
    expect(s.get('cluster.service1.membership_total')).toBe(1);
    expect(s.get('server.days_until_first_cert_expiring')).toBe(2147483647);
  });
});

describe('/stats/prometheus', () => {
  it('unescapes labels and skips HELP/TYPE/blank lines', () => {
    const text = '# HELP x help\n# TYPE x counter\n\nx{a="q\\"uote",b="back\\\\slash",c="new\\nline"} 3 1700000000\ny 2.5\nz{} NaN\nbad line\n';
    const samples = parsePrometheus(text);
    expect(samples.map((s) => s.name)).toEqual(['x', 'y', 'z']);
    expect(samples[0]).toEqual({ name: 'x', labels: { a: 'q"uote', b: 'back\\slash', c: 'new\nline' }, value: 3 });
    expect(samples[1].value).toBe(2.5);
    expect(Number.isNaN(samples[2].value)).toBe(true);
  });
  it.skipIf(!HAVE_REFERENCE)(`reads the 7 istio_requests_total series of the real excerpt ${HAVE_REFERENCE ? '' : SKIP_REASON}`, () => {
    const samples = parsePrometheus(readReferenceText('envoy/istio-1.7.1-sidecar-productpage-stats-prometheus.HEAD-EXCERPT.txt'));
    const series = istioRequests(samples);
    expect(series).toHaveLength(7);
    const mtls = series.filter((s) => s.connectionSecurityPolicy === 'mutual_tls');
    expect(mtls.length).toBeGreaterThan(0);
    expect(mtls.every((s) => s.reporter === 'destination' && s.sourceWorkload === 'istio-ingressgateway')).toBe(true);
    expect(mtls[0].sourcePrincipal).toBe('spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
    const plain = series.filter((s) => s.connectionSecurityPolicy === 'none');
    expect(plain.every((s) => s.sourcePrincipal === 'unknown' && s.destinationServiceName === 'InboundPassthroughClusterIpv4')).toBe(true);
    expect(plain.some((s) => s.responseCode === '503' && s.responseFlags === 'UF')).toBe(true);
    expect(series.filter((s) => s.reporter === 'source').every((s) => s.connectionSecurityPolicy === 'unknown')).toBe(true);
    expect(samples.some((s) => s.name === 'envoy_cluster_ssl_handshake' && s.labels.cluster_name === 'xds-grpc')).toBe(true);
  });
});

describe('/clusters', () => {
  it('parses the text format: hosts, stats, health flags, added_via_api', () => {
    const cs = parseClusters(fixtureText('sidecar-clusters.txt'));
    expect(cs.map((c) => c.name)).toEqual(['outbound|8080||bff.mesh-verify.svc.cluster.local', 'xds-grpc']);
    const bff = cs[0];
    expect(bff.addedViaApi).toBe(true);
    expect(bff.hosts.map((h) => h.address)).toEqual(['10.244.0.11:8080', '10.244.0.13:8080']);
    expect(bff.hosts[0].stats).toMatchObject({ cx_active: 2, cx_total: 3, rq_total: 12, local_origin_success_rate: -1 });
    expect(bff.hosts[0].health).toEqual(['healthy']);
    expect(bff.hosts[1].health).toEqual(['failed_active_hc', 'failed_outlier_check']);
    expect(cs[1]).toMatchObject({ addedViaApi: false, hosts: [{ address: './etc/istio/proxy/XDS', stats: { cx_active: 1, rq_total: 48 } }] });
  });
  it('parses the current snake_case JSON format', () => {
    const body = JSON.stringify({ cluster_statuses: [{ name: 'outbound|8080||bff', added_via_api: true, host_statuses: [{ address: { socket_address: { address: '10.0.0.1', port_value: 8080 } }, stats: [{ name: 'cx_total', value: '5' }, { name: 'rq_error' }], health_status: { eds_health_status: 'HEALTHY', failed_outlier_check: true } }] }] });
    expect(parseClusters(body)).toEqual([{ name: 'outbound|8080||bff', addedViaApi: true, hosts: [{ address: '10.0.0.1:8080', stats: { cx_total: 5, rq_error: 0 }, health: ['HEALTHY', 'failed_outlier_check'] }] }]);
  });
  it.skipIf(!HAVE_REFERENCE)(`parses the real old camelCase JSON capture ${HAVE_REFERENCE ? '' : SKIP_REASON}`, () => {
    const cs = parseClusters(readReferenceText('envoy/istio-1.x-sidecar-clusters-format-json.json'));
    expect(cs).toHaveLength(7);
    expect(cs[0]).toMatchObject({ name: 'outbound|443||istio-sidecar-injector.istio-system.svc.cluster.local', addedViaApi: true });
    expect(cs[0].hosts[0]).toMatchObject({ address: '172.17.0.4:443', health: ['HEALTHY'] });
    expect(cs[0].hosts[0].stats.cx_total).toBe(0);
    expect(cs.map((c) => c.name)).toContain('inbound_9092');
    expect(cs.map((c) => c.name)).toContain('outbound|9080||reviews.default.svc.cluster.local');
  });
});

describe('/certs', () => {
  it('parses the hand-made Istio /certs (string days)', () => {
    const entries = parseCerts(JSON.parse(fixtureText('sidecar-strict-certs.json')));
    expect(entries).toHaveLength(2);
    expect(entries[1].certChain[0]).toMatchObject({ uriSans: ['spiffe://cluster.local/ns/mesh-verify/sa/svc'], daysUntilExpiration: 214, expirationTime: '2026-01-01T00:00:00Z' });
    expect(parseCerts({})).toEqual([]);
  });
  it.skipIf(!HAVE_REFERENCE)(`parses the real App Mesh/SPIRE captures ${HAVE_REFERENCE ? '' : SKIP_REASON}`, () => {
    const [entry] = parseCerts(readReferenceJson('envoy/appmesh-envoy-certs-spire-sds-colorgreen.EXTRACTED.json'));
    expect(entry.caCert[0]).toEqual({ path: '<inline>', serialNumber: '0', uriSans: ['spiffe://howto-k8s-mtls-sds-based.aws'], dnsSans: [], daysUntilExpiration: 0, validFrom: '2020-11-22T05:13:03Z', expirationTime: '2020-11-23T05:13:13Z' });
    expect(entry.certChain[0].uriSans).toEqual(['spiffe://howto-k8s-mtls-sds-based.aws/colorgreen']);
    expect(parseCerts(readReferenceJson('envoy/appmesh-envoy-certs-empty.EXTRACTED.json'))).toEqual([]);
  });
});

describe('/server_info', () => {
  it('reads an istio-proxy server_info with its node block', () => {
    expect(parseServerInfo(JSON.parse(fixtureText('istio-server_info.json')))).toEqual({
      version: '6b2f1ab2a6b6c9f8d5b0e8a3e6d2c1b0a9f8e7d6/1.32.3-dev/Clean/RELEASE/BoringSSL',
      envoyVersion: '1.32.3', state: 'LIVE',
      serviceNode: 'sidecar~10.244.0.12~svc-7d9f8c6b5-x2x9q.mesh-verify~mesh-verify.svc.cluster.local',
      istioVersion: '1.24.2', uptimeSeconds: 3725,
    });
  });
  it.skipIf(!HAVE_REFERENCE)(`reads the real Envoy 1.15 docs capture ${HAVE_REFERENCE ? '' : SKIP_REASON}`, () => {
    expect(parseServerInfo(readReferenceJson('envoy/envoy-1.15-server_info-front-proxy-docs.EXTRACTED.json'))).toEqual({
      version: '093e2ffe046313242144d0431f1bb5cf18d82544/1.15.0-dev/Clean/RELEASE/BoringSSL',
      envoyVersion: '1.15.0', state: 'LIVE', serviceNode: null, istioVersion: null, uptimeSeconds: 188,
    });
  });
});
