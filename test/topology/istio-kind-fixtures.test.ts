import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ACCESS_LOG_FORMAT } from '../../src/envoy/access-log-format.js';
import { readFixture } from '../../src/topology/fixture-files.js';
import { pinnedVersions } from '../../src/topology/versions.js';
import { GATEWAY_HTTPS_PORT, GATEWAY_HTTPS_TARGET_PORT, GATEWAY_NODE_PORT, KIND_HOST_PORT } from '../../src/topology/reference.js';
import { validateAgainstSchema } from './schema-models.js';

const iop = parse(readFixture('istio', 'istio-operator.yaml'));
const kind = parse(readFixture('kind', 'cluster.yaml'));

describe('fixtures/istio/istio-operator.yaml', () => {
  it('is a valid IstioOperator', () => {
    expect(() => validateAgainstSchema(iop)).not.toThrow();
  });

  it('logs JSON to stdout with exactly ACCESS_LOG_FORMAT (keys and Envoy operators)', () => {
    const mesh = iop.spec.meshConfig;
    expect(mesh.accessLogFile).toBe('/dev/stdout');
    expect(mesh.accessLogEncoding).toBe('JSON');
    expect(JSON.parse(mesh.accessLogFormat)).toEqual(ACCESS_LOG_FORMAT);
    for (const op of ['%DOWNSTREAM_PEER_URI_SAN%', '%DOWNSTREAM_TLS_VERSION%', '%UPSTREAM_PEER_URI_SAN%', '%UPSTREAM_TLS_VERSION%',
      '%UPSTREAM_TRANSPORT_FAILURE_REASON%', '%REQ(X-REQUEST-ID)%']) {
      expect(Object.values(ACCESS_LOG_FORMAT)).toContain(op);
    }
  });

  it('keeps the ssl.* stats, connection and request totals and socket match counts that Istio drops by default', () => {
    const regexps: string[] = iop.spec.meshConfig.defaultConfig.proxyStatsMatcher.inclusionRegexps;
    // Envoy matches the whole stat name (RE2 full match).
    const kept = (stat: string) => regexps.some((r) => new RegExp(`^(?:${r})$`).test(stat));
    for (const stat of [
      'listener.0.0.0.0_8443.ssl.handshake',
      'listener.0.0.0.0_15006.ssl.versions.TLSv1.3',
      'cluster.outbound|8080||bff.mesh-verify.svc.cluster.local.ssl.handshake',
      'cluster.outbound|8080||svc.mesh-verify.svc.cluster.local.ssl.connection_error',
      'listener.0.0.0.0_8443.downstream_cx_total',
      'cluster.outbound|8080||svc.mesh-verify.svc.cluster.local.upstream_cx_total',
      // Istio ends cluster stat names with a ';' delimiter (istio.io docs, "Envoy Statistics").
      'cluster.outbound|8080||bff.mesh-verify.svc.cluster.local;.ssl.handshake',
      'cluster.inbound|8080||;.ssl.handshake',
      'cluster.outbound|8080||svc.mesh-verify.svc.cluster.local;.upstream_cx_total',
      // read by the analyzer too (test/analyze/stats-matcher.test.ts derives the full list)
      'cluster.outbound|8080||svc.mesh-verify.svc.cluster.local;.upstream_rq_total',
      'cluster.outbound|8080||svc.mesh-verify.svc.cluster.local;.tlsMode-istio.total_match_count',
      'cluster.outbound|8080||svc.mesh-verify.svc.cluster.local;.tlsMode-disabled.total_match_count',
    ]) expect(kept(stat), stat).toBe(true);
    for (const stat of ['server.uptime', 'http.inbound_0.0.0.0_8080.downstream_rq_2xx',
      'cluster.outbound|8080||svc.mesh-verify.svc.cluster.local;.upstream_rq_time', 'http.outbound_0.0.0.0_8080;.downstream_rq_total']) {
      expect(kept(stat), stat).toBe(false);
    }
  });

  it('exposes the gateway https port 443 -> 8443 on the NodePort that kind maps', () => {
    const gw = iop.spec.components.ingressGateways.find((g: any) => g.name === 'istio-ingressgateway');
    expect(gw.enabled).toBe(true);
    expect(gw.k8s.service.type).toBe('NodePort');
    const https = gw.k8s.service.ports.find((p: any) => p.name === 'https');
    expect(https).toMatchObject({ port: GATEWAY_HTTPS_PORT, targetPort: GATEWAY_HTTPS_TARGET_PORT, nodePort: GATEWAY_NODE_PORT });
  });
});

describe('fixtures/kind/cluster.yaml', () => {
  it('maps the gateway NodePort to a host port on 127.0.0.1 only (the NLB-equivalent, L4)', () => {
    expect(kind.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(kind.kind).toBe('Cluster');
    const mappings = kind.nodes.flatMap((n: any) => n.extraPortMappings ?? []);
    expect(mappings).toEqual([{ containerPort: GATEWAY_NODE_PORT, hostPort: KIND_HOST_PORT, listenAddress: '127.0.0.1', protocol: 'TCP' }]);
  });
});

describe('fixtures/istio/versions.json', () => {
  it('pins real release formats in one place', () => {
    const v = pinnedVersions();
    expect(v.istio).toMatch(/^1\.\d+\.\d+$/);
    expect(v.kind).toMatch(/^v0\.\d+\.\d+$/);
    expect(v.kindNodeImage).toMatch(/^kindest\/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    expect(v.nodeImage).toMatch(/^node:\d+\.\d+\.\d+-alpine$/);
  });
});
