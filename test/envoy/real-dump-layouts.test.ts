import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inspectConfigDump, isIstioConfigDump, parseConfigDump } from '../../src/envoy/config-dump.js';
import { looksCamelCase, toSnakeCase } from '../../src/envoy/proto-json.js';
import { chainsTo } from '../../src/envoy/certificate.js';

// Real dumps copied from istio/istio; provenance (tag, path, blob) in fixtures/envoy/README.md.
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/envoy/${name}`, import.meta.url), 'utf8'));
const NOW = new Date('2026-12-02T00:00:00Z');

describe('C1: camelCase protobuf JSON (istiod /debug/config_dump, jsonpb without OrigName)', () => {
  // istio/istio 1.6.0 istioctl/pkg/writer/compare/testdata/pilotconfigdump2020.json: what
  // pilot/pkg/xds/debug.go ConfigDump writes (writeJSON -> protomarshal.MarshalIndent, jsonpb
  // Marshaler without OrigName, unchanged at 1.30.3).
  const json = fixture('istiod-1.6-debug-config_dump-camelcase.json');
  const p = inspectConfigDump(json, { now: NOW });

  it('reads dynamicListeners[].activeState.listener with its camelCase DownstreamTlsContext', () => {
    expect(p.listeners).toHaveLength(1);
    expect(p.listeners[0]).toMatchObject({ name: '172.30.150.195_9080', address: '172.30.150.195', port: 9080, state: 'active', downstreamTls: 'mtls', secrets: ['default', 'ROOTCA'] });
    expect(p.listeners[0].filterChains[0]).toMatchObject({ tls: 'mtls', requireClientCertificate: true, certificateSecrets: ['default'], validationSecret: 'ROOTCA' });
    expect(p.layout).toEqual(['camelCase JSON names (jsonpb, e.g. istiod /debug/config_dump)']);
  });

  it('is recognised as Istio (its BlackHoleCluster), with nothing to warn about', () => {
    expect(p.clusters.map((c) => c.name)).toEqual(['BlackHoleCluster']);
    expect(isIstioConfigDump(json)).toBe(true);
    expect(p.warnings).toBeUndefined();
  });

  it('gives the same posture for a current dump whichever spelling it is written in', () => {
    // jsonpb's JSON name is the lowerCamelCase of the proto field name; Struct and map contents
    // (node metadata, transport socket match criteria, filter_metadata) keep their keys.
    const camel = (v: unknown, verbatim = false): unknown => {
      if (Array.isArray(v)) return v.map((x) => camel(x, verbatim));
      if (v === null || typeof v !== 'object' || verbatim) return v;
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => {
        const keep = k === 'metadata' || k === 'match' || k === 'filter_metadata';
        const name = k.startsWith('@') ? k : k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
        return [name, k === 'metadata' ? camelMetadata(x) : camel(x, keep)];
      }));
    };
    // A node's metadata is a Struct; an endpoint's is envoy.config.core.v3.Metadata (filterMetadata).
    const camelMetadata = (x: unknown): unknown => {
      const r = x as Record<string, unknown>;
      return r && typeof r === 'object' && 'filter_metadata' in r ? { filterMetadata: r.filter_metadata } : r;
    };
    for (const name of ['gateway-tls-config_dump.json', 'sidecar-strict-config_dump.json']) {
      const snake = fixture(name);
      const camelJson = camel(snake);
      expect(JSON.stringify(camelJson)).toMatch(/"dynamicListeners"/);
      const { layout, ...fromCamel } = inspectConfigDump(camelJson, { now: NOW });
      expect(layout).toHaveLength(1);
      expect(fromCamel).toEqual(inspectConfigDump(snake, { now: NOW }));
    }
  });

  it('leaves Struct contents and @type alone when converting', () => {
    const section = { '@type': 'x.ClustersConfigDump', dynamicActiveClusters: [{ cluster: { transportSocketMatches: [{ match: { tlsMode: 'istio' }, transportSocket: { typedConfig: { '@type': 'y.TypedStruct', typeUrl: 'z', value: { commonTlsContext: {} } } } }] } }] };
    expect(looksCamelCase(section)).toBe(true);
    expect(toSnakeCase(section)).toEqual({ '@type': 'x.ClustersConfigDump', dynamic_active_clusters: [{ cluster: { transport_socket_matches: [{ match: { tlsMode: 'istio' }, transport_socket: { typed_config: { '@type': 'y.TypedStruct', type_url: 'z', value: { commonTlsContext: {} } } } }] } }] });
    expect(looksCamelCase({ '@type': 'x', dynamic_listeners: [{ active_state: {} }] })).toBe(false);
  });
});

describe('C2: Envoy <= 1.12 layouts (envoy.admin.v2alpha)', () => {
  // istio/istio 1.4.0 istioctl/cmd/testdata/describe/productpage-v1-7bbd79f8fd-k6j79.json (excerpt):
  // Envoy 1.12.0-dev lists listeners as dynamic_active_listeners[].listener and names its
  // version in node.build_version.
  const p = inspectConfigDump(fixture('istio-1.3-envoy-1.12-sidecar-productpage-config_dump.EXCERPT.json'), { now: NOW });

  it('reads dynamic_active_listeners[].listener (not only the static listener)', () => {
    expect(p.listeners.map((l) => [l.name, l.state, l.downstreamTls])).toEqual([
      ['0.0.0.0_15090', 'active', 'none'],
      ['172.30.150.216_9080', 'active', 'mixed'],
      ['virtualOutbound', 'active', 'none'],
      ['virtualInbound', 'active', 'mixed'],
    ]);
    expect(p.inbound).toContainEqual({ port: 9080, mode: 'PERMISSIVE', inEffect: true, listener: 'virtualInbound' });
    expect(p.layout).toEqual(['Envoy <= 1.12 listener lists (dynamic_active_listeners, ...)']);
  });

  it('takes the Envoy version from node.build_version', () => {
    expect(p.proxy).toMatchObject({ type: 'sidecar', envoyVersion: '1.12.0-dev', istioVersion: '1.3.0-rc.2', namespace: 'default', podName: 'productpage-v1-7bbd79f8fd-k6j79' });
  });

  it('C5: names file-mounted certificates by their path, not <inline>', () => {
    const inbound = p.listeners.find((l) => l.name === 'virtualInbound')!;
    const mtls = inbound.filterChains.find((c) => c.tls === 'mtls')!;
    expect(mtls.certificateSecrets).toEqual(['/etc/certs/cert-chain.pem']);
    expect(mtls.validationFile).toBe('/etc/certs/root-cert.pem');
    expect(inbound.secrets).toEqual(['/etc/certs/cert-chain.pem', '/etc/certs/root-cert.pem']);
    const details = p.clusters.find((c) => c.name === 'outbound|9080||details.default.svc.cluster.local')!;
    expect(details).toMatchObject({ upstreamTls: 'mtls', certificateSecrets: ['/etc/certs/cert-chain.pem'], sans: ['spiffe://cluster.local/ns/default/sa/bookinfo-details'] });
  });

  it('reads camelCase and the old layout together (istioctl 1.1 testdata, Envoy 1.7)', () => {
    // istio/istio 1.1.0 istioctl/pkg/writer/envoy/configdump/testdata/configdump.json.
    const old = inspectConfigDump(fixture('istio-1.1-envoy-1.7-sidecar-config_dump-camelcase.json'), { now: NOW });
    expect(old.listeners.map((l) => [l.name, l.port, l.state])).toEqual([['172.21.134.116_443', 443, 'active'], ['0.0.0.0_8080', 8080, 'active']]);
    expect(old.clusters.map((c) => c.name)).toEqual(['xds-grpc', 'outbound|15004||istio-policy.istio-system.svc.cluster.local']);
    expect(old.proxy).toMatchObject({ type: 'sidecar', envoyVersion: '1.7.0-dev', namespace: 'default', podName: 'details-v1-9cb87c69-t2fdz' });
    expect(old.layout).toEqual(['camelCase JSON names (jsonpb, e.g. istiod /debug/config_dump)', 'Envoy <= 1.12 listener lists (dynamic_active_listeners, ...)']);
  });

  it('reads the configs map of Envoy < 1.8 and bare static resources', () => {
    // Envoy 1.7 admin.v2alpha.ConfigDump: `map<string, Any> configs`, static_listeners bare Listeners.
    const old = parseConfigDump({ configs: { listeners: { '@type': 'type.googleapis.com/envoy.admin.v2alpha.ListenersConfigDump', static_listeners: [{ name: 'admin', address: { socket_address: { address: '0.0.0.0', port_value: 15090 } } }] } } });
    expect(old.listeners.map((l) => l.name)).toEqual(['admin']);
    expect(old.layout).toContain('a "configs" map (Envoy < 1.8)');
  });
});

describe('C3: waypoint proxies', () => {
  // istio/istio 1.30.3 istioctl/pkg/proxyconfig/testdata/config_dump.json; the node type is
  // pkg/model/proxy.go `Waypoint NodeType = "waypoint"`.
  const json = fixture('istio-1.21-waypoint-config_dump.json');
  const p = inspectConfigDump(json, { now: NOW });
  it('parses namespace and pod and names the proxy type', () => {
    expect(p.proxy).toMatchObject({ type: 'waypoint', namespace: 'default', podName: 'httpbin-istio-waypoint-58f646c5ff-dbfkz', istioVersion: '1.21.0-1226' });
    expect(isIstioConfigDump(json)).toBe(true);
  });
});

describe('C4: SPIFFE validator trust bundles', () => {
  // istio/istio 1.30.3 istioctl/pkg/writer/envoy/configdump/testdata/secret/spire/config_dump.json:
  // ROOTCA holds an empty trusted_ca and per-trust-domain bundles under
  // custom_validator_config envoy.tls.cert_validator.spiffe.
  const p = inspectConfigDump(fixture('istio-spire-trust-domains-secrets-config_dump.json'), { now: NOW });
  const root = p.secrets.find((s) => s.name === 'ROOTCA')!;
  it('decodes every trust domain\'s roots and expiry', () => {
    expect(root.kind).toBe('trust-bundle');
    expect(root.trustDomains?.map((t) => [t.name, t.roots.length, t.notAfter, t.expired])).toEqual([
      ['east.local', 1, '2034-10-23T13:23:05.000Z', false],
      ['west.local', 1, '2034-10-23T13:23:05.000Z', false],
    ]);
    expect(root.chain).toHaveLength(2);
    expect(root.notAfter).toBe('2034-10-23T13:23:05.000Z');
    expect(root.chain.every((c) => c.isCa)).toBe(true);
  });
  it('the SVID chains to the east.local root it carries', () => {
    const svid = p.secrets.find((s) => s.name === 'default')!;
    expect(svid.uriSans).toEqual(['spiffe://east.local/ns/istio-system/sa/federation-ingress-gateway-service-account']);
    const east = root.trustDomains!.find((t) => t.name === 'east.local')!;
    expect(chainsTo(svid.chain.map((c) => c.pem).join(''), east.roots.map((c) => c.pem))).toBe(true);
  });
});

describe('C5: sections that parse to nothing', () => {
  it('warns about a listener section whose entries are not understood', () => {
    const d = parseConfigDump({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', listeners_v9: [{ x: 1 }, { x: 2 }] }] });
    expect(d.listeners).toEqual([]);
    expect(d.warnings).toEqual(['ListenersConfigDump: no listener could be read from 2 entries under listeners_v9 (layout not recognised)']);
  });
  it('warns about an empty cluster section', () => {
    const d = parseConfigDump({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', version_info: '1' }] });
    expect(d.warnings).toEqual(['ClustersConfigDump is empty: this dump holds no clusters']);
  });
  it('a TLS listener whose only certificate is warming cannot complete a handshake', () => {
    const p = inspectConfigDump(fixture('gateway-tls-config_dump.json'), { now: NOW });
    expect(p.listeners.find((l) => l.name === '0.0.0.0_9443')?.certificateWarming).toBe(
      'cannot complete a TLS handshake: its only certificate kubernetes://mtls-credential is still warming (SDS has not delivered it)');
    expect(p.listeners.filter((l) => l.certificateWarming).map((l) => l.name)).toEqual(['0.0.0.0_9443']);
  });
});
