import type { ProxyTarget } from '../collect/types.js';
import { BFF_WORKLOAD, DEFAULT_GATEWAY, GATEWAY_WORKLOAD, SVC_WORKLOAD, labelSelector, type IngressGateway } from '../topology/reference.js';

/** Pod label of istioctl's ingress gateway (what the default Gateway's selector matches). */
export const GATEWAY_POD_SELECTOR = labelSelector(DEFAULT_GATEWAY.podLabels);

/** The proxies of the reference path, in path order; the gateway is the one found from its Service. */
export function referenceTargets(gateway: IngressGateway = DEFAULT_GATEWAY): ProxyTarget[] {
  return [
    { id: GATEWAY_WORKLOAD.id, role: 'gateway', namespace: gateway.namespace, selector: labelSelector(gateway.podLabels), expectedIdentity: gateway.spiffeId },
    { id: BFF_WORKLOAD.id, role: 'sidecar', namespace: BFF_WORKLOAD.namespace, selector: `app=${BFF_WORKLOAD.name}`, expectedIdentity: BFF_WORKLOAD.spiffeId },
    { id: SVC_WORKLOAD.id, role: 'sidecar', namespace: SVC_WORKLOAD.namespace, selector: `app=${SVC_WORKLOAD.name}`, expectedIdentity: SVC_WORKLOAD.spiffeId },
  ];
}
