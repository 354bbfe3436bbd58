import { describe, expect, it } from 'vitest';
import { inspectConfigDump, isIstioConfigDump, parseConfigDump } from '../../src/envoy/config-dump.js';
import { sanMatches } from '../../src/envoy/san-match.js';
import type { ClusterTls, ProxyPosture } from '../../src/envoy/types.js';
import { HAVE_REFERENCE, SKIP_REASON, readReferenceJson } from '../helpers/reference.js';

const NOW = new Date('2025-06-04T12:00:00Z');
const cache = new Map<string, ProxyPosture>();
function posture(file: string): ProxyPosture {
  let p = cache.get(file);
  if (!p) {
    p = inspectConfigDump(readReferenceJson(`envoy/${file}`), { now: NOW });
    cache.set(file, p);
  }
  return p;
}
const cluster = (p: ProxyPosture, name: string): ClusterTls => {
  const c = p.clusters.find((x) => x.name === name);
  if (!c) throw new Error(`no cluster ${name}`);
  return c;
};
const count = (p: ProxyPosture, tls: string) => p.clusters.filter((c) => c.upstreamTls === tls).length;

describe.skipIf(!HAVE_REFERENCE)(`real Istio config dumps ${HAVE_REFERENCE ? '' : SKIP_REASON}`, () => {
  describe('istio 1.22.3 sidecar (app1)', () => {
    const file = 'istio-1.22.3-sidecar-app1-config_dump.json';
    it('port 3333 is PERMISSIVE and in effect', () => {
      const p = posture(file);
      const port = p.inbound.find((i) => i.port === 3333);
      expect(port).toMatchObject({ mode: 'PERMISSIVE', inEffect: true, listener: 'virtualInbound' });
    });
    it('identifies the proxy and counts 45 of 54 clusters as auto mTLS', () => {
      const p = posture(file);
      expect(p.proxy).toMatchObject({ type: 'sidecar', istioVersion: '1.22.3', envoyVersion: '1.30.5', namespace: 'default', podName: 'app1-0' });
      expect(p.clusters).toHaveLength(54);
      expect(count(p, 'auto-mtls')).toBe(45);
    });
    it('the inbound mTLS chain requires a client certificate with SDS default/ROOTCA', () => {
      const vi = posture(file).listeners.find((l) => l.name === 'virtualInbound')!;
      const chains = vi.filterChains.filter((c) => c.destinationPort === 3333);
      expect(chains.map((c) => c.tls).sort()).toEqual(['mtls', 'mtls', 'none', 'none', 'passthrough']);
      const mtls = chains.find((c) => c.tls === 'mtls')!;
      expect(mtls).toMatchObject({ requireClientCertificate: true, certificateSecrets: ['default'], validationSecret: 'ROOTCA', transportProtocol: 'tls' });
      expect(vi.downstreamTls).toBe('mixed');
    });
    it('secret default belongs to spiffe://cluster.local/ns/default/sa/default', () => {
      const s = posture(file).secrets.find((x) => x.name === 'default')!;
      expect(s).toMatchObject({ kind: 'certificate', state: 'active', uriSans: ['spiffe://cluster.local/ns/default/sa/default'] });
      expect(s.chain[0].spiffeId).toBe('spiffe://cluster.local/ns/default/sa/default');
      expect(s.chain[0].fingerprint256).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe('istio 1.18.2 sidecar (geo, include_eds, virtualInbound in error_state)', () => {
    const file = 'istio-1.18.2-sidecar-geo-config_dump.json';
    it('virtualInbound is in error state, so inbound TLS is not in effect', () => {
      const p = posture(file);
      const vi = p.listeners.filter((l) => l.name === 'virtualInbound');
      expect(vi).toHaveLength(1);
      expect(vi[0].state).toBe('error');
      expect(vi[0].error).toMatch(/Lua/);
      expect(p.inbound.length).toBeGreaterThan(0);
      expect(p.inbound.every((i) => i.inEffect === false)).toBe(true);
      expect(p.inbound.find((i) => i.port === 8083)).toMatchObject({ mode: 'PERMISSIVE', inEffect: false });
    });
    it('122 of its 143 clusters are auto mTLS', () => {
      const p = posture(file);
      expect(p.clusters).toHaveLength(143);
      expect(count(p, 'auto-mtls')).toBe(122);
    });
    it('reads EDS endpoints with tlsMode metadata (28 endpoints carry tlsMode istio)', () => {
      const p = posture(file);
      const eps = p.clusters.flatMap((c) => c.endpoints ?? []);
      expect(eps.filter((e) => e.tlsMode === 'istio')).toHaveLength(28);
      const memcached = cluster(p, 'outbound|11211||media-memcached.social-network.svc.cluster.local');
      expect(memcached.endpoints).toEqual([{ address: '172.16.18.251', port: 11211, tlsMode: null }]);
      expect(memcached.endpointTls).toBe('none');
      expect(memcached.sans).toEqual(['spiffe://cluster.local/ns/social-network/sa/default']);
      expect(memcached.sni).toBe('outbound_.11211_._.media-memcached.social-network.svc.cluster.local');
      expect(memcached.alpn).toEqual(['istio-peer-exchange', 'istio']);
      expect(p.clusters.some((c) => c.endpointTls === 'mtls')).toBe(true);
    });
    it('keeps the bootstrap clusters apart as control plane', () => {
      const p = posture(file);
      expect(p.clusters.filter((c) => c.controlPlane).map((c) => c.name).sort()).toEqual(['agent', 'prometheus_stats', 'sds-grpc', 'xds-grpc', 'zipkin']);
    });
    it('its workload certificate is hr2/default', () => {
      expect(posture(file).secrets.find((s) => s.name === 'default')?.uriSans).toEqual(['spiffe://cluster.local/ns/hr2/sa/default']);
    });
  });

  describe('OSSM 2.6 ingress gateway', () => {
    const file = 'ossm-2.6-istio-1.20.8-ingressgateway-config_dump.json';
    it('terminates no TLS: its only Gateway listener is plaintext on 8080', () => {
      const p = posture(file);
      expect(p.proxy.type).toBe('router');
      const dynamic = p.listeners.filter((l) => !l.static);
      expect(dynamic.map((l) => [l.name, l.port, l.downstreamTls])).toEqual([['0.0.0.0_8080', 8080, 'none']]);
      expect(p.listeners.every((l) => l.downstreamTls === 'none')).toBe(true);
      expect(p.inbound).toEqual([]);
    });
    it('originates mTLS to hello-openshift with the expected SAN', () => {
      const c = cluster(posture(file), 'outbound|8080||hello-openshift.vanilla-playground.svc.cluster.local');
      expect(c).toMatchObject({
        upstreamTls: 'auto-mtls', presentsClientCertificate: true, verifiesServer: true, controlPlane: false,
        sans: ['spiffe://cluster.local/ns/vanilla-playground/sa/default'],
        sni: 'outbound_.8080_._.hello-openshift.vanilla-playground.svc.cluster.local',
        certificateSecrets: ['default'], validationSecret: 'ROOTCA',
      });
      expect(sanMatches(c.sanMatchers!, 'spiffe://cluster.local/ns/vanilla-playground/sa/default')).toBe(true);
      expect(sanMatches(c.sanMatchers!, 'spiffe://cluster.local/ns/other/sa/default')).toBe(false);
    });
    it('gateway identity is the ingressgateway service account', () => {
      expect(posture(file).secrets.find((s) => s.name === 'default')?.uriSans).toEqual([
        'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
      ]);
    });
  });

  describe('OSSM 2.6 hello-openshift sidecar', () => {
    const file = 'ossm-2.6-istio-1.20.8-sidecar-hello-openshift-config_dump.json';
    it('istiod-basic:8188 is TLS without a client certificate and without server verification', () => {
      const c = cluster(posture(file), 'outbound|8188||istiod-basic.istio-system.svc.cluster.local');
      expect(c).toMatchObject({ upstreamTls: 'tls', presentsClientCertificate: false, verifiesServer: false, sans: [] });
    });
    it('port 8080 is PERMISSIVE; 15 of 24 clusters are auto mTLS', () => {
      const p = posture(file);
      expect(p.inbound.find((i) => i.port === 8080)).toMatchObject({ mode: 'PERMISSIVE', inEffect: true });
      expect(p.clusters).toHaveLength(24);
      expect(count(p, 'auto-mtls')).toBe(15);
      expect(p.proxy).toMatchObject({ namespace: 'vanilla-playground', istioVersion: '1.20.8' });
    });
  });

  describe('istio 1.9.1 productpage sidecar', () => {
    const file = 'istio-1.9.1-sidecar-productpage-config_dump.json';
    it('port 9080 is PERMISSIVE; 28 of 37 clusters auto mTLS incl. subset clusters', () => {
      const p = posture(file);
      expect(p.inbound.find((i) => i.port === 9080)).toMatchObject({ mode: 'PERMISSIVE', inEffect: true });
      expect(p.clusters).toHaveLength(37);
      expect(count(p, 'auto-mtls')).toBe(28);
      const subset = cluster(p, 'outbound|9080|v1|details.default.svc.cluster.local');
      expect(subset).toMatchObject({ upstreamTls: 'auto-mtls', direction: 'outbound', service: { port: 9080, subset: 'v1', host: 'details.default.svc.cluster.local' } });
      expect(p.secrets.map((s) => [s.name, s.kind])).toEqual([['default', 'certificate'], ['ROOTCA', 'trust-bundle']]);
      expect(p.secrets[0].uriSans).toEqual(['spiffe://cluster.local/ns/default/sa/bookinfo-productpage']);
    });
  });

  describe('istio 1.7-dev ingress gateway with no Gateway bound', () => {
    const file = 'istio-1.7-dev-ingressgateway-config_dump.json';
    it('has only static listeners, terminates nothing; xds-grpc is control-plane mTLS', () => {
      const p = posture(file);
      expect(p.listeners.every((l) => l.static && l.downstreamTls === 'none')).toBe(true);
      expect(p.clusters).toHaveLength(64);
      expect(count(p, 'auto-mtls')).toBe(28);
      expect(cluster(p, 'xds-grpc')).toMatchObject({ upstreamTls: 'mtls', controlPlane: true, verifiesServer: true, sans: ['istiod.istio-system.svc'] });
      expect(p.clusters.filter((c) => !c.controlPlane && c.upstreamTls === 'mtls')).toEqual([]);
    });
    it('keeps both secrets named default', () => {
      expect(posture(file).secrets.filter((s) => s.name === 'default')).toHaveLength(2);
    });
  });

  describe('listeners-only dump (2023)', () => {
    const file = 'istio-2023-sidecar-listeners-only-config_dump.json';
    it('copes with missing sections and still finds PERMISSIVE port 80 and the HBONE terminator', () => {
      const json = readReferenceJson(`envoy/${file}`);
      const dump = parseConfigDump(json);
      expect(dump.sections).toEqual(['ListenersConfigDump']);
      expect(isIstioConfigDump(dump)).toBe(true);
      const p = posture(file);
      expect(p.proxy).toEqual({ type: null, id: null, istioVersion: null, envoyVersion: null, namespace: null, podName: null });
      expect(p.clusters).toEqual([]);
      expect(p.secrets).toEqual([]);
      expect(p.inbound.find((i) => i.port === 80)).toMatchObject({ mode: 'PERMISSIVE', inEffect: true });
      const ct = p.listeners.find((l) => l.name === 'connect_terminate')!;
      expect(ct.downstreamTls).toBe('mtls');
      const typed = p.listeners.flatMap((l) => l.filterChains).flatMap((c) => c.peerSanMatchers ?? []).filter((m) => m.sanType === 'URI');
      expect(typed).toEqual([{ sanType: 'URI', kind: 'prefix', value: 'spiffe://cluster.local/' }]);
    });
  });

  describe('secrets-only dump', () => {
    const file = 'istio-sds-secrets-config_dump.json';
    it('default is expired and belongs to the ambient waypoint; the warming secret is listed', () => {
      const p = posture(file);
      const def = p.secrets.find((s) => s.name === 'default')!;
      expect(def).toMatchObject({
        kind: 'certificate', state: 'active', expired: true, notAfter: '2023-05-16T01:32:52.000Z',
        uriSans: ['spiffe://cluster.local/ns/ambient/sa/namespace-istio-waypoint'],
      });
      expect(def.chain.length).toBeGreaterThanOrEqual(1);
      expect(p.secrets.find((s) => s.name === 'ROOTCA')).toMatchObject({ kind: 'trust-bundle', expired: false });
      expect(p.secrets.find((s) => s.name === 'configmap://some/thing')).toMatchObject({ state: 'warming', kind: 'unknown', expired: null, chain: [] });
    });
    it('expiry is judged against opts.now', () => {
      const early = inspectConfigDump(readReferenceJson(`envoy/${file}`), { now: new Date('2023-05-15T12:00:00Z') });
      expect(early.secrets.find((s) => s.name === 'default')?.expired).toBe(false);
    });
  });
});
