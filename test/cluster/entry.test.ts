import { describe, expect, it } from 'vitest';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { entryFromService, nodeAddress } from '../../src/cluster/entry.js';

/** Gateway Services as istioctl (NodePort on kind, fixtures/istio/istio-operator.yaml) and clouds (LoadBalancer) make them. */
function svc(o: { type?: string; nodePort?: number; ingress?: { ip?: string; hostname?: string }[]; annotations?: Record<string, string> }): V1Service {
  return {
    metadata: { name: 'istio-ingressgateway', namespace: 'istio-system', ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: { type: o.type ?? 'NodePort', selector: { istio: 'ingressgateway' }, ports: [{ name: 'https', port: 443, targetPort: 8443 as never, ...(o.nodePort ? { nodePort: o.nodePort } : {}) }] },
    status: { loadBalancer: { ...(o.ingress ? { ingress: o.ingress } : {}) } },
  };
}
const node = (name: string, addresses: { type: string; address: string }[], ready = true): V1Node =>
  ({ metadata: { name }, status: { addresses, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });

describe('the entry (NLB) from the gateway Service', () => {
  it('the mesh-verify.io/entry annotation first (the lab publishes its NLB there)', () => {
    expect(entryFromService(svc({ nodePort: 30443, annotations: { 'mesh-verify.io/entry': '127.0.0.1:40123' } }), { lab: true }))
      .toEqual({ address: '127.0.0.1', port: 40123, kind: 'lab-nlb' });
    expect(entryFromService(svc({ annotations: { 'mesh-verify.io/entry': 'nlb.example.com:443' } })))
      .toEqual({ address: 'nlb.example.com', port: 443, kind: 'custom' });
    expect(() => entryFromService(svc({ annotations: { 'mesh-verify.io/entry': 'nlb.example.com' } }))).toThrow(/annotation mesh-verify\.io\/entry: "nlb\.example\.com", not HOST:PORT/);
  });

  it('a LoadBalancer address (ip or hostname) on the https port', () => {
    expect(entryFromService(svc({ type: 'LoadBalancer', nodePort: 31234, ingress: [{ hostname: 'a1b2.elb.amazonaws.com' }] })))
      .toEqual({ address: 'a1b2.elb.amazonaws.com', port: 443, kind: 'loadbalancer' });
  });

  it('kind: NodePort 30443 is the host port 127.0.0.1:9443 (fixtures/kind/cluster.yaml), when the API server is local', () => {
    expect(entryFromService(svc({ nodePort: 30443 }), { apiServerLocal: true })).toEqual({ address: '127.0.0.1', port: 9443, kind: 'nodeport' });
  });

  it('another NodePort (or a remote cluster): a ready node\'s ExternalIP, else InternalIP, and the NodePort', () => {
    const nodes = [node('n0', [{ type: 'InternalIP', address: '10.0.0.9' }], false), node('n1', [{ type: 'InternalIP', address: '10.0.0.5' }, { type: 'Hostname', address: 'n1' }])];
    expect(nodeAddress(nodes)).toBe('10.0.0.5');
    expect(nodeAddress([node('n2', [{ type: 'InternalIP', address: '10.0.0.6' }, { type: 'ExternalIP', address: '203.0.113.7' }])])).toBe('203.0.113.7');
    expect(entryFromService(svc({ nodePort: 30443 }), { apiServerLocal: false, nodes })).toEqual({ address: '10.0.0.5', port: 30443, kind: 'nodeport' });
    expect(() => entryFromService(svc({ type: 'ClusterIP' }), { nodes })).toThrow(/no load balancer address and no https nodePort/);
  });
});
