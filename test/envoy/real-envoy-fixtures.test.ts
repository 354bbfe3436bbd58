import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  inspectConfigDump, istioRequests, parseCerts, parseClusters, parseConfigDump, parsePrometheus, parseServerInfo, parseStats,
} from '../../src/envoy/index.js';
import { RECORDED_ENDPOINTS, RECORDED_PROXIES } from '../../scripts/record-real-envoy.js';

/**
 * Admin output of real Envoy (fixtures/envoy/real-<version>/, recorded by `npm run fixtures:envoy`
 * from a healthy lab run: PROVENANCE.md), read with mesh-verify's own parsers. These are files:
 * no Envoy is needed to run this test.
 */
const ROOT = new URL('../../fixtures/envoy/', import.meta.url);
const DIRS = readdirSync(ROOT).filter((d) => /^real-\d+\.\d+\.\d+$/.test(d));
const DIR = DIRS.at(-1) ?? '';
const VERSION = DIR.replace(/^real-/, '');
const read = (proxy: string, file: string): string => readFileSync(new URL(`${DIR}/${proxy}/${file}`, ROOT), 'utf8');
const json = (proxy: string, file: string): unknown => JSON.parse(read(proxy, file));

const BFF_ID = 'spiffe://cluster.local/ns/mesh-verify/sa/bff';
const GATEWAY_ID = 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
const TO_BFF = 'outbound|8080||bff.mesh-verify.svc.cluster.local';
const TO_SVC = 'outbound|8080||svc.mesh-verify.svc.cluster.local';

describe('real Envoy captures (fixtures/envoy/real-<version>)', () => {
  it('exist for the pinned Envoy, with every recorded file and a PROVENANCE.md naming version, command and date', () => {
    const pins = JSON.parse(readFileSync(new URL('../../fixtures/istio/versions.json', import.meta.url), 'utf8')) as { envoy: { version: string } };
    expect(VERSION).toBe(pins.envoy.version);
    for (const proxy of Object.keys(RECORDED_PROXIES)) {
      expect(readdirSync(new URL(`${DIR}/${proxy}/`, ROOT)).sort()).toEqual(RECORDED_ENDPOINTS.map((e) => e.file).sort());
    }
    const provenance = readFileSync(new URL(`${DIR}/PROVENANCE.md`, ROOT), 'utf8');
    expect(provenance).toContain(`# Real Envoy ${VERSION} admin output`);
    expect(provenance).toContain('`npm run fixtures:envoy`');
    expect(provenance).toMatch(/Recorded on \d{4}-\d\d-\d\dT[\d:.]+Z/);
  });

  it('/server_info: the official release of that version, LIVE, with Istio\'s node metadata', () => {
    for (const proxy of Object.keys(RECORDED_PROXIES)) {
      const info = parseServerInfo(json(proxy, 'server_info.json'));
      expect(info.envoyVersion).toBe(VERSION);
      expect(info.version).toMatch(new RegExp(`^[0-9a-f]{40}/${VERSION.replace(/\./g, '\\.')}/\\w+/RELEASE/BoringSSL$`));
      expect(info.state).toBe('LIVE');
      expect(info.istioVersion).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it('/config_dump: dynamic listeners, clusters and the SDS secrets default, ROOTCA and kubernetes://<credentialName>', () => {
    const gw = parseConfigDump(json('gateway', 'config_dump.json'));
    expect(gw.layout).toEqual([]);
    expect(gw.secrets.map((s) => `${s.name} ${s.state} ${s.static ? 'static' : 'dynamic'}`).sort())
      .toEqual(['ROOTCA active dynamic', 'default active dynamic', 'kubernetes://mesh-verify-credential active dynamic']);
    expect(gw.listeners.filter((l) => !l.static).map((l) => l.name)).toEqual(['0.0.0.0_8443']);
    const bff = parseConfigDump(json('bff-sidecar', 'config_dump.json'));
    expect(bff.secrets.map((s) => s.name).sort()).toEqual(['ROOTCA', 'default']);
    expect(bff.listeners.filter((l) => !l.static).map((l) => l.name).sort()).toEqual(['0.0.0.0_8080', 'virtualInbound', 'virtualOutbound']);
    // Real Envoy prints every private key as "[redacted]" (inline_string for SDS secrets).
    for (const proxy of Object.keys(RECORDED_PROXIES)) {
      for (const file of ['config_dump.json', 'config_dump-include_eds.json']) {
        const text = read(proxy, file);
        expect(text).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
        const keys = [...text.matchAll(/"private_key": \{\s*"inline_string": "([^"]*)"/g)].map((m) => m[1]);
        expect(keys.length).toBeGreaterThan(0);
        expect(new Set(keys)).toEqual(new Set(['[redacted]']));
      }
    }
  });

  it('clusters Istio builds carry alt_stat_name `<name>;`; include_eds adds the endpoints with tlsMode metadata', () => {
    const bff = parseConfigDump(json('bff-sidecar', 'config_dump-include_eds.json'));
    for (const name of [TO_BFF, TO_SVC, 'inbound|8080||']) {
      expect(bff.clusters.find((c) => c.name === name)?.cluster.alt_stat_name).toBe(`${name};`);
    }
    expect(parseConfigDump(json('bff-sidecar', 'config_dump.json')).endpoints.get(TO_SVC)).toBeUndefined();
    const eds = JSON.stringify(bff.endpoints.get(TO_SVC));
    expect(eds).toContain('"tlsMode":"istio"');
    const posture = inspectConfigDump(json('bff-sidecar', 'config_dump-include_eds.json'));
    expect(posture.proxy).toMatchObject({ type: 'sidecar', envoyVersion: VERSION, namespace: 'mesh-verify' });
    expect(posture.inbound.find((m) => m.port === 8080)).toMatchObject({ mode: 'STRICT', inEffect: true, listener: 'virtualInbound' });
    expect(posture.clusters.find((c) => c.name === TO_SVC)).toMatchObject({ upstreamTls: 'auto-mtls' });
    expect(posture.secrets.find((s) => s.name === 'default')?.chain[0]?.spiffeId).toBe(BFF_ID);
    const gw = inspectConfigDump(json('gateway', 'config_dump-include_eds.json'));
    expect(gw.proxy.type).toBe('router');
    expect(gw.secrets.find((s) => s.name === 'kubernetes://mesh-verify-credential')?.chain[0]?.subject).toBe('CN=web.mesh-verify.test');
  });

  it('/certs: the workload identity and the gateway credential', () => {
    const bff = parseCerts(json('bff-sidecar', 'certs.json'));
    expect(bff.length).toBeGreaterThan(0);
    expect(bff.every((c) => c.certChain.every((d) => d.uriSans.includes(BFF_ID)))).toBe(true);
    const gw = parseCerts(json('gateway', 'certs.json')).flatMap((c) => c.certChain);
    expect(gw.some((d) => d.dnsSans.includes('web.mesh-verify.test'))).toBe(true);
    expect(gw.some((d) => d.uriSans.includes(GATEWAY_ID))).toBe(true);
  });

  it('/stats (text and ?format=json agree): ssl.handshake under the `;` stat names of the hops the requests took', () => {
    for (const proxy of Object.keys(RECORDED_PROXIES)) {
      const text = parseStats(read(proxy, 'stats.txt'));
      const asJson = parseStats(read(proxy, 'stats.json'));
      expect(asJson.size).toBe(text.size);
      for (const [k, v] of text) if (k.endsWith('.ssl.handshake')) expect(asJson.get(k), k).toBe(v);
    }
    const gw = parseStats(read('gateway', 'stats.txt'));
    expect(gw.get(`cluster.${TO_BFF};.ssl.handshake`)).toBeGreaterThanOrEqual(1);
    expect(gw.get('listener.0.0.0.0_8443.ssl.handshake')).toBeGreaterThanOrEqual(1);
    expect(gw.has(`cluster.${TO_BFF}.ssl.handshake`)).toBe(false);
    const bff = parseStats(read('bff-sidecar', 'stats.txt'));
    expect(bff.get(`cluster.${TO_SVC};.ssl.handshake`)).toBeGreaterThanOrEqual(1);
    expect(bff.get('listener.0.0.0.0_15006.ssl.handshake')).toBeGreaterThanOrEqual(1);
    // The inbound HCM's own counters, the evidence of plaintext without Istio telemetry.
    expect(bff.get('http.inbound_0.0.0.0_8080.downstream_cx_total')).toBeGreaterThanOrEqual(1);
    expect(bff.get('http.inbound_0.0.0.0_8080.downstream_cx_ssl_total')).toBe(bff.get('http.inbound_0.0.0.0_8080.downstream_cx_total'));
  });

  it('/stats/prometheus: Envoy\'s own metrics, and no istio_requests_total (upstream Envoy has no istio.stats)', () => {
    for (const proxy of Object.keys(RECORDED_PROXIES)) {
      const text = read(proxy, 'stats-prometheus.txt');
      const samples = parsePrometheus(text);
      expect(samples.length).toBeGreaterThan(100);
      expect(text).not.toContain('istio_requests_total');
      expect(istioRequests(samples)).toEqual([]);
    }
    const gw = parsePrometheus(read('gateway', 'stats-prometheus.txt'));
    expect(gw.find((s) => s.name === 'envoy_listener_ssl_handshake' && s.labels.listener_address === '0.0.0.0_8443')?.value).toBeGreaterThanOrEqual(1);
  });

  it('/clusters (text and ?format=json): the same clusters, with the endpoints EDS gave', () => {
    for (const proxy of Object.keys(RECORDED_PROXIES)) {
      const text = parseClusters(read(proxy, 'clusters.txt'));
      const asJson = parseClusters(read(proxy, 'clusters.json'));
      expect(asJson.map((c) => c.name).sort()).toEqual(text.map((c) => c.name).sort());
      const toSvc = text.find((c) => c.name === TO_SVC);
      expect(toSvc?.hosts).toHaveLength(1);
      expect(toSvc?.hosts[0].address).toMatch(/^127\.\d+\.\d+\.12:8080$/);
      expect(asJson.find((c) => c.name === TO_SVC)?.hosts[0].address).toBe(toSvc?.hosts[0].address);
    }
  });
});
