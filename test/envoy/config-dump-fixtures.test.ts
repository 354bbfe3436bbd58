import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inspectConfigDump, isIstioConfigDump, parseConfigDump } from '../../src/envoy/config-dump.js';
import { sanMatches } from '../../src/envoy/san-match.js';
import { chainsTo } from '../../src/envoy/certificate.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/envoy/${name}`, import.meta.url), 'utf8'));
const NOW = new Date('2025-06-01T00:00:00Z');

describe('hand-made STRICT sidecar dump', () => {
  const p = inspectConfigDump(fixture('sidecar-strict-config_dump.json'), { now: NOW });
  it('reports port 8080 and the catch-all as STRICT, in effect', () => {
    expect(p.inbound).toEqual([
      { port: 0, mode: 'STRICT', inEffect: true, listener: 'virtualInbound', catchAll: true },
      { port: 8080, mode: 'STRICT', inEffect: true, listener: 'virtualInbound' },
    ]);
    expect(p.listeners.find((l) => l.name === 'virtualInbound')?.downstreamTls).toBe('mtls');
  });
  it('splits auto mTLS by EDS tlsMode metadata', () => {
    const bff = p.clusters.find((c) => c.name === 'outbound|8080||bff.mesh-verify.svc.cluster.local')!;
    expect(bff.endpoints).toEqual([
      { address: '10.244.0.11', port: 8080, tlsMode: 'istio' },
      { address: '10.244.0.13', port: 8080, tlsMode: 'istio' },
    ]);
    expect(bff.endpointTls).toBe('mtls');
    expect(p.clusters.find((c) => c.name === 'outbound|80||legacy.other.svc.cluster.local')?.endpointTls).toBe('none');
    expect(p.clusters.find((c) => c.name === 'inbound|8080||')).toMatchObject({ direction: 'inbound', upstreamTls: 'none', service: { port: 8080, host: '' } });
  });
  it('decodes the workload chain, which chains to ROOTCA', () => {
    const def = p.secrets.find((s) => s.name === 'default')!;
    expect(def).toMatchObject({ expired: false, uriSans: ['spiffe://cluster.local/ns/mesh-verify/sa/svc'], notAfter: '2026-01-01T00:00:00.000Z' });
    const root = p.secrets.find((s) => s.name === 'ROOTCA')!;
    expect(root.chain[0].isCa).toBe(true);
    expect(chainsTo(def.chain[0].pem, [root.chain[0].pem])).toBe(true);
    expect(inspectConfigDump(fixture('sidecar-strict-config_dump.json'), { now: new Date('2026-02-01T00:00:00Z') }).secrets[0].expired).toBe(true);
  });
  it('tolerates an unknown section type and reads the node', () => {
    expect(p.sections).toContain('EcdsConfigDump');
    expect(p.proxy).toMatchObject({ type: 'sidecar', namespace: 'mesh-verify', podName: 'svc-7d9f8c6b5-x2x9q', istioVersion: '1.24.2', envoyVersion: '1.32.3' });
  });
});

describe('hand-made gateway dump', () => {
  const p = inspectConfigDump(fixture('gateway-tls-config_dump.json'), { now: NOW });
  const listener = (name: string) => p.listeners.find((l) => l.name === name)!;
  it('0.0.0.0_8443 terminates TLS with the credentialName secret and passes another SNI through', () => {
    const l = listener('0.0.0.0_8443');
    expect(l.state).toBe('active');
    expect(l.secrets).toEqual(['kubernetes://mesh-verify-credential']);
    expect(l.filterChains.map((c) => [c.serverNames[0], c.tls])).toEqual([
      ['mesh-verify.example.com', 'tls'],
      ['passthrough.example.com', 'passthrough'],
    ]);
    expect(l.downstreamTls).toBe('mixed');
  });
  it('reports warming and draining listeners with their states', () => {
    expect(listener('0.0.0.0_9443')).toMatchObject({ state: 'warming', downstreamTls: 'mtls' });
    expect(listener('0.0.0.0_8444')).toMatchObject({ state: 'draining', downstreamTls: 'tls' });
    expect(listener('0.0.0.0_15021')).toMatchObject({ static: true, downstreamTls: 'none' });
  });
  it('reads explicit mTLS, typed prefix SANs, the SPIFFE validator and a warming cluster', () => {
    const partner = p.clusters.find((c) => c.name.startsWith('outbound|9443||partner'))!;
    expect(partner).toMatchObject({ upstreamTls: 'mtls', verifiesServer: true, sans: ['spiffe://cluster.local/ns/mesh-verify/'] });
    expect(sanMatches(partner.sanMatchers!, 'spiffe://cluster.local/ns/mesh-verify/sa/bff')).toBe(true);
    expect(sanMatches(partner.sanMatchers!, 'mesh-verify.svc')).toBe(false);
    const spiffe = p.clusters.find((c) => c.name === 'outbound|443||spiffe-peer.example.org')!;
    expect(spiffe).toMatchObject({ upstreamTls: 'mtls', verifiesServer: true, trustDomains: ['example.org'] });
    expect(p.clusters.find((c) => c.name === 'outbound|8080||svc.mesh-verify.svc.cluster.local')).toMatchObject({ state: 'warming', upstreamTls: 'auto-mtls' });
    expect(p.clusters.find((c) => c.name === 'outbound|8080||bff.mesh-verify.svc.cluster.local')?.endpointTls).toBe('mixed');
  });
  it('lists the gateway credential and a warming secret', () => {
    expect(p.secrets.map((s) => [s.name, s.state, s.kind])).toEqual([
      ['default', 'active', 'certificate'],
      ['ROOTCA', 'active', 'trust-bundle'],
      ['kubernetes://mesh-verify-credential', 'active', 'certificate'],
      ['kubernetes://mtls-credential', 'warming', 'unknown'],
    ]);
    expect(p.secrets[2].chain[0].dnsSans).toEqual(['mesh-verify.example.com']);
    expect(chainsTo(p.secrets[2].chain[0].pem, [p.secrets[1].chain[0].pem])).toBe(false);
  });
});

describe('parseConfigDump robustness', () => {
  it('accepts a single bare section and ignores junk', () => {
    const section = (fixture('sidecar-strict-config_dump.json') as { configs: unknown[] }).configs[3];
    const dump = parseConfigDump(section);
    expect(dump.sections).toEqual(['ListenersConfigDump']);
    expect(dump.listeners.map((l) => l.name)).toEqual(['virtualInbound', '0.0.0.0_8080']);
    expect(parseConfigDump(null).listeners).toEqual([]);
    expect(parseConfigDump({ configs: [null, 3, { '@type': 'type.googleapis.com/envoy.admin.v3.Nope' }] }).sections).toEqual(['Nope']);
  });
  it('tells a plain Envoy dump from an Istio one', () => {
    expect(isIstioConfigDump(parseConfigDump(fixture('plain-envoy-config_dump.json')))).toBe(false);
    expect(isIstioConfigDump(parseConfigDump(fixture('gateway-tls-config_dump.json')))).toBe(true);
    expect(isIstioConfigDump(parseConfigDump({ configs: [] }))).toBe(false);
    expect(isIstioConfigDump(fixture('sidecar-strict-config_dump.json'))).toBe(true);
    expect(isIstioConfigDump(fixture('plain-envoy-config_dump.json'))).toBe(false);
  });
  it('reads an active and a warming copy of the same listener, only the active one in effect', () => {
    const base = fixture('sidecar-strict-config_dump.json') as { configs: Record<string, unknown>[] };
    const ls = base.configs[3] as { dynamic_listeners: Record<string, unknown>[] };
    const vi = ls.dynamic_listeners[0] as { active_state: unknown };
    ls.dynamic_listeners[0] = { ...vi, warming_state: vi.active_state };
    const p = inspectConfigDump(base, { now: NOW });
    expect(p.inbound.filter((i) => i.port === 8080).map((i) => i.inEffect)).toEqual([true, false]);
  });
});
