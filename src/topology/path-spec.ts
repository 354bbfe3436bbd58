import type { PathNode, PathSpec, SegmentSpec } from '../bundle/types.js';
import {
  APP_PORT, BFF_WORKLOAD, DEFAULT_GATEWAY, GATEWAY_CREDENTIAL, GATEWAY_WORKLOAD, PUBLIC_HOST, SVC_WORKLOAD,
  gatewayListenerName, outboundCluster, serviceFqdn, type IngressGateway,
} from './reference.js';

export interface ReferencePathOptions {
  entry: PathSpec['entry'];
  gatewayCaPem: string | null;
  host?: string;
  credentialName?: string;
  /** The ingress gateway found from its Service (default: istioctl's istio-system/istio-ingressgateway). */
  gateway?: IngressGateway;
}

/**
 * The reference path as data: nodes, segments and where each segment's evidence lives.
 *
 *   client -> nlb -> gateway -> bff-sidecar -> bff -> bff-sidecar -> svc-sidecar -> svc
 *
 * The bff sidecar appears twice in the chain (inbound, then outbound): as one node, since it is
 * one proxy; the two loopback segments are bff-sidecar->bff and bff->bff-sidecar.
 */
export function referencePathSpec(opts: ReferencePathOptions): PathSpec {
  const host = opts.host ?? PUBLIC_HOST;
  const credential = opts.credentialName ?? GATEWAY_CREDENTIAL;
  const gateway = opts.gateway ?? DEFAULT_GATEWAY;
  const bffHost = serviceFqdn(BFF_WORKLOAD.name, BFF_WORKLOAD.namespace);
  const svcHost = serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace);
  const nodes: PathNode[] = [
    { id: 'client', kind: 'client', label: 'client (mesh-verify)', proxy: null },
    { id: 'nlb', kind: 'nlb', label: 'NLB (L4)', proxy: null },
    { id: 'gateway', kind: 'gateway', label: 'ingress gateway', proxy: GATEWAY_WORKLOAD.id },
    { id: 'bff-sidecar', kind: 'sidecar', label: 'bff sidecar', proxy: BFF_WORKLOAD.id },
    { id: 'bff', kind: 'app', label: 'bff app', proxy: BFF_WORKLOAD.id },
    { id: 'svc-sidecar', kind: 'sidecar', label: 'svc sidecar', proxy: SVC_WORKLOAD.id },
    { id: 'svc', kind: 'app', label: 'svc app', proxy: SVC_WORKLOAD.id },
  ];
  const seg = (from: string, to: string, expect: SegmentSpec['expect'], hints: SegmentSpec['hints']): SegmentSpec =>
    ({ id: `${from}->${to}`, from, to, expect, hints });
  const segments: SegmentSpec[] = [
    seg('client', 'nlb', 'tls', { serverSecret: `kubernetes://${credential}` }),
    seg('nlb', 'gateway', 'tls', { listener: gatewayListenerName(gateway), serverSecret: `kubernetes://${credential}` }),
    seg('gateway', 'bff-sidecar', 'mtls', {
      cluster: outboundCluster(APP_PORT, bffHost), inboundPort: APP_PORT,
      clientIdentity: gateway.spiffeId, serverIdentity: BFF_WORKLOAD.spiffeId,
    }),
    seg('bff-sidecar', 'bff', 'plaintext', { inboundPort: APP_PORT, loopback: true }),
    seg('bff', 'bff-sidecar', 'plaintext', { cluster: outboundCluster(APP_PORT, svcHost), loopback: true }),
    seg('bff-sidecar', 'svc-sidecar', 'mtls', {
      cluster: outboundCluster(APP_PORT, svcHost), inboundPort: APP_PORT,
      clientIdentity: BFF_WORKLOAD.spiffeId, serverIdentity: SVC_WORKLOAD.spiffeId,
    }),
    seg('svc-sidecar', 'svc', 'plaintext', { inboundPort: APP_PORT, loopback: true }),
  ];
  return { name: 'reference', host, entry: opts.entry, nodes, segments, gatewayCaPem: opts.gatewayCaPem };
}
