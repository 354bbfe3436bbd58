import { describe, expect, it } from 'vitest';
import { meshStateFromObjects, type IstioObject } from '../../src/lab/control-plane.js';
import { HEALTHY_MESH } from '../../src/lab/types.js';
import { mergeTlsParams } from '../../src/lab/envoy-filter.js';
import { parseAllDocuments } from 'yaml';
import { readFileSync } from 'node:fs';

const ns: IstioObject = { kind: 'Namespace', metadata: { name: 'mesh-verify', labels: { 'istio-injection': 'enabled' } } };
const dep = (name: string, extra: Record<string, unknown> = {}): IstioObject => ({
  kind: 'Deployment', metadata: { name, namespace: 'mesh-verify', labels: { app: name } },
  spec: { template: { metadata: { labels: { app: name }, ...extra } } },
});
const pa = (name: string, spec: Record<string, unknown>, namespace = 'mesh-verify', created = '2025-01-01T00:00:00Z'): IstioObject =>
  ({ kind: 'PeerAuthentication', metadata: { name, namespace, creationTimestamp: created }, spec });
const healthy: IstioObject[] = [
  ns, dep('bff'), dep('svc'), pa('default', { mtls: { mode: 'STRICT' } }),
  { kind: 'DestinationRule', metadata: { name: 'bff', namespace: 'mesh-verify' }, spec: { host: 'bff.mesh-verify.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } },
];

describe('the lab control plane (Istio objects -> MeshState)', () => {
  it('the reference objects give the healthy mesh', () => {
    expect(meshStateFromObjects(healthy, null)).toEqual(HEALTHY_MESH);
  });

  it('PeerAuthentication: workload selector beats namespace, port-level beats workload, no policy at all means PERMISSIVE', () => {
    const svcPermissive = [...healthy, pa('svc', { selector: { matchLabels: { app: 'svc' } }, mtls: { mode: 'PERMISSIVE' } })];
    expect(meshStateFromObjects(svcPermissive, null).inbound).toEqual({ bff: 'STRICT', svc: 'PERMISSIVE' });
    const portLevel = [...healthy, pa('svc', { selector: { matchLabels: { app: 'svc' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { 8080: { mode: 'PERMISSIVE' } } })];
    expect(meshStateFromObjects(portLevel, null).inbound.svc).toBe('PERMISSIVE');
    const otherPort = [...healthy, pa('svc', { selector: { matchLabels: { app: 'svc' } }, portLevelMtls: { 9090: { mode: 'PERMISSIVE' } } })];
    expect(meshStateFromObjects(otherPort, null).inbound.svc).toBe('STRICT');
    const none = healthy.filter((o) => o.kind !== 'PeerAuthentication');
    expect(meshStateFromObjects(none, null).inbound).toEqual({ bff: 'PERMISSIVE', svc: 'PERMISSIVE' });
    const meshWide = [...none, pa('default', { mtls: { mode: 'STRICT' } }, 'istio-system')];
    expect(meshStateFromObjects(meshWide, null).inbound).toEqual({ bff: 'STRICT', svc: 'STRICT' });
  });

  it('DestinationRule DISABLE for bff makes the gateway send plaintext; a wildcard loses to an exact host', () => {
    const disable = healthy.map((o) => (o.kind === 'DestinationRule' ? { ...o, spec: { host: 'bff', trafficPolicy: { tls: { mode: 'DISABLE' } } } } : o));
    expect(meshStateFromObjects(disable, null).gatewayToBff).toBe('plaintext');
    const wildcard = [...healthy, { kind: 'DestinationRule', metadata: { name: 'all', namespace: 'mesh-verify' }, spec: { host: '*.mesh-verify.svc.cluster.local', trafficPolicy: { tls: { mode: 'DISABLE' } } } }];
    expect(meshStateFromObjects(wildcard, null).gatewayToBff).toBe('mtls');
  });

  it('sidecar injection off for svc, and a plaintext caller Deployment, are picked up', () => {
    const objs = healthy.map((o) => (o.kind === 'Deployment' && o.metadata.name === 'svc' ? dep('svc', { annotations: { 'sidecar.istio.io/inject': 'false' } }) : o));
    expect(meshStateFromObjects(objs, null).svcSidecar).toBe(false);
    const caller = { ...dep('plaintext-caller'), metadata: { name: 'plaintext-caller', namespace: 'mesh-verify', labels: { 'mesh-verify.io/role': 'plaintext-caller' } } };
    expect(meshStateFromObjects([...healthy, caller], null).plaintextCallerToSvc).toBe(true);
  });

  it('faults no object expresses come from the fault name', () => {
    expect(meshStateFromObjects(healthy, 'expired-cert').svcCert).toBe('expired');
    expect(meshStateFromObjects(healthy, 'foreign-root').svcCert).toBe('foreign-root');
    expect(meshStateFromObjects(healthy, 'nlb-terminates-tls').nlbTerminatesTls).toBe(true);
    expect(meshStateFromObjects(healthy, 'stats-filtered').includeSslStats).toBe(false);
  });

  const meshCm = (mesh: Record<string, unknown>): IstioObject => ({ kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: JSON.stringify(mesh) } } as IstioObject);
  const gateway = (tls: Record<string, unknown>): IstioObject => ({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'mesh-verify' }, spec: { servers: [{ port: { number: 443 }, tls: { mode: 'SIMPLE', credentialName: 'c', ...tls } }] } });

  it('meshConfig.tlsDefaults gives the gateway its curves, ciphers and minimum version; the Gateway server overrides ciphers and versions (listener.go)', () => {
    const s = meshStateFromObjects([...healthy, meshCm({ tlsDefaults: { ecdhCurves: ['P-256', 'P-384'], cipherSuites: ['ECDHE-ECDSA-AES128-GCM-SHA256'], minProtocolVersion: 'TLSV1_3' } })], null);
    expect(s.gatewayTls).toEqual({ minVersion: 'TLSv1_3', maxVersion: 'TLSv1_3', cipherSuites: ['ECDHE-ECDSA-AES128-GCM-SHA256'], ecdhCurves: ['P-256', 'P-384'] });
    // tlsDefaults never reaches the mesh mTLS contexts.
    expect(s.meshMtlsTls).toEqual(HEALTHY_MESH.meshMtlsTls);
    const withServer = meshStateFromObjects([...healthy, gateway({ minProtocolVersion: 'TLSV1_2', maxProtocolVersion: 'TLSV1_2', cipherSuites: ['ECDHE-ECDSA-AES256-GCM-SHA384'] }), meshCm({ tls_defaults: { ecdh_curves: ['P-256'] } })], null);
    expect(withServer.gatewayTls).toEqual({ minVersion: 'TLSv1_2', maxVersion: 'TLSv1_2', cipherSuites: ['ECDHE-ECDSA-AES256-GCM-SHA384'], ecdhCurves: ['P-256'] });
  });

  it('meshConfig.meshMTLS sets the inbound mesh contexts\' minimum version and ciphers, not their curves', () => {
    const s = meshStateFromObjects([...healthy, meshCm({ meshMTLS: { minProtocolVersion: 'TLSV1_3', cipherSuites: ['ECDHE-ECDSA-AES256-GCM-SHA384'] } })], null);
    expect(s.meshMtlsTls).toEqual({ minVersion: 'TLSv1_3', maxVersion: 'TLSv1_3', cipherSuites: ['ECDHE-ECDSA-AES256-GCM-SHA384'], ecdhCurves: null });
    expect(s.gatewayTls).toEqual(HEALTHY_MESH.gatewayTls);
    expect(s.meshConfigRejected).toBeNull();
  });

  it('meshMTLS.ecdhCurves is refused as istiod refuses it: the last known mesh TLS settings stay', () => {
    const before = meshStateFromObjects([...healthy, meshCm({ tlsDefaults: { ecdhCurves: ['P-256'] }, meshMTLS: { minProtocolVersion: 'TLSV1_3' } })], null);
    const after = meshStateFromObjects([...healthy, meshCm({ tlsDefaults: { ecdhCurves: ['P-384'] }, meshMTLS: { ecdhCurves: ['P-256'] } })], null, undefined, before);
    expect(after.meshConfigRejected).toBe('invalid mesh config, using last known state: mesh TLS does not support ECDH curves configuration');
    expect(after.gatewayTls.ecdhCurves).toEqual(['P-256']);
    expect(after.meshMtlsTls.minVersion).toBe('TLSv1_3');
    // Without a last known state: istiod's defaults.
    expect(meshStateFromObjects([...healthy, meshCm({ meshMTLS: { ecdhCurves: ['P-256'] } })], null).gatewayTls).toEqual(HEALTHY_MESH.gatewayTls);
  });

  it('EnvoyFilter MERGE of tls_params (fixtures/istio/envoyfilter-fips-mesh-groups.yaml): inbound TLS chains and the outbound clusters get ecdh_curves; other patches are named and ignored', () => {
    const fixture = parseAllDocuments(readFileSync('fixtures/istio/envoyfilter-fips-mesh-groups.yaml', 'utf8')).map((d) => d.toJS() as IstioObject);
    const s = meshStateFromObjects([...healthy, ...fixture], null);
    const curves = { ecdh_curves: ['P-256', 'P-384'] };
    expect(s.envoyFilterTls.bff).toEqual({ listener: [curves], clusters: [{ host: 'bff.mesh-verify.svc.cluster.local', patch: curves }, { host: 'svc.mesh-verify.svc.cluster.local', patch: curves }] });
    expect(s.envoyFilterTls.svc.listener).toEqual([curves]);
    expect(s.envoyFilterTls.gateway).toEqual({ listener: [], clusters: [{ host: 'bff.mesh-verify.svc.cluster.local', patch: curves }] });
    expect(s.envoyFiltersIgnored).toEqual([]);
    // A workloadSelector narrows it; a patch that would reach plaintext chains is ignored, with why.
    const risky: IstioObject = { apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'risky', namespace: 'mesh-verify' }, spec: {
      workloadSelector: { labels: { app: 'svc' } },
      configPatches: [
        { applyTo: 'FILTER_CHAIN', match: { context: 'SIDECAR_INBOUND' }, patch: fixture[0]!.spec.configPatches[0].patch },
        { applyTo: 'CLUSTER', match: { context: 'SIDECAR_OUTBOUND' }, patch: fixture[0]!.spec.configPatches[1].patch },
        { applyTo: 'HTTP_FILTER', match: { context: 'SIDECAR_INBOUND' }, patch: { operation: 'INSERT_BEFORE', value: {} } },
      ] } };
    const r = meshStateFromObjects([...healthy, risky], null);
    expect(r.envoyFilterTls.svc.listener).toEqual([]);
    expect(r.envoyFiltersIgnored).toEqual([
      expect.stringMatching(/^EnvoyFilter mesh-verify\/risky configPatches\[0\]: not modelled by the lab \(a SIDECAR_INBOUND FILTER_CHAIN patch without filterChain.transportProtocol: tls/),
      expect.stringMatching(/^EnvoyFilter mesh-verify\/risky configPatches\[1\]: .*without match.cluster.name or service/),
      'EnvoyFilter mesh-verify/risky configPatches[2]: not modelled by the lab (operation INSERT_BEFORE)',
    ]);
    expect(meshStateFromObjects([...healthy, { ...risky, spec: { ...risky.spec, workloadSelector: { labels: { app: 'nobody' } } } }], null).envoyFiltersIgnored).toEqual([]);
  });

  it('merges patches as proto.Merge does: repeated fields appended, scalars replaced', () => {
    expect(mergeTlsParams({ tls_minimum_protocol_version: 'TLSv1_2', cipher_suites: ['A'] }, [{ cipher_suites: ['B'], tls_minimum_protocol_version: 'TLSv1_3' }, { ecdh_curves: ['P-256'] }]))
      .toEqual({ tls_minimum_protocol_version: 'TLSv1_3', cipher_suites: ['A', 'B'], ecdh_curves: ['P-256'] });
  });
});
