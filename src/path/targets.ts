import type { ProxyTarget } from '../collect/types.js';
import { BFF_WORKLOAD, GATEWAY_WORKLOAD, SVC_WORKLOAD } from '../topology/reference.js';

/** Pod label of the ingress gateway (what the Gateway's selector matches). */
export const GATEWAY_POD_SELECTOR = 'istio=ingressgateway';

/** The proxies of the reference path, in path order. */
export function referenceTargets(): ProxyTarget[] {
  return [
    { id: GATEWAY_WORKLOAD.id, role: 'gateway', namespace: GATEWAY_WORKLOAD.namespace, selector: GATEWAY_POD_SELECTOR, expectedIdentity: GATEWAY_WORKLOAD.spiffeId },
    { id: BFF_WORKLOAD.id, role: 'sidecar', namespace: BFF_WORKLOAD.namespace, selector: `app=${BFF_WORKLOAD.name}`, expectedIdentity: BFF_WORKLOAD.spiffeId },
    { id: SVC_WORKLOAD.id, role: 'sidecar', namespace: SVC_WORKLOAD.namespace, selector: `app=${SVC_WORKLOAD.name}`, expectedIdentity: SVC_WORKLOAD.spiffeId },
  ];
}
