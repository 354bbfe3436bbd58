import { describe, expect, it } from 'vitest';
import { meshStateFromObjects, type IstioObject } from '../../src/lab/control-plane.js';
import { HEALTHY_MESH } from '../../src/lab/types.js';

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
});
