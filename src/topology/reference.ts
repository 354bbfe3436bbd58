/**
 * The reference path as data: names, identities and ports shared by the cluster topology
 * (fixtures/topology), the lab, the collector and the analyzer. The tool works for any chain of
 * this shape; these are the defaults it deploys.
 *
 *   client -> NLB -> ingress gateway -> bff sidecar -> bff app -> bff sidecar -> svc sidecar -> svc app
 */
export const TRUST_DOMAIN = 'cluster.local';
export const MESH_NAMESPACE = 'mesh-verify';
export const GATEWAY_NAMESPACE = 'istio-system';

/** Public host name served by the gateway (SNI and Host header of the external client). */
export const PUBLIC_HOST = 'web.mesh-verify.test';
/** Gateway TLS credential (a kubernetes.io/tls Secret in the gateway's namespace). */
export const GATEWAY_CREDENTIAL = 'mesh-verify-credential';
/** The gateway's HTTPS listener: Service port 443 -> container port 8443 (Istio listener 0.0.0.0_8443). */
export const GATEWAY_HTTPS_PORT = 443;
export const GATEWAY_HTTPS_TARGET_PORT = 8443;
/** kind: NodePort of the gateway's https port, mapped to a host port (the NLB-equivalent). */
export const GATEWAY_NODE_PORT = 30443;
export const KIND_HOST_PORT = 9443;

/** Both apps listen on this port; their Services expose the same port. */
export const APP_PORT = 8080;
/** Envoy admin port inside every istio-proxy. */
export const ENVOY_ADMIN_PORT = 15000;
export const ISTIO_INBOUND_PORT = 15006;
export const ISTIO_OUTBOUND_PORT = 15001;

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_MANAGED_BY_VALUE = 'mesh-verify';
export const FIELD_MANAGER = 'mesh-verify';

export function spiffeId(namespace: string, serviceAccount: string, trustDomain = TRUST_DOMAIN): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export function serviceFqdn(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/** Istio's outbound cluster name for a service port (optionally a subset). */
export function outboundCluster(port: number, host: string, subset = ''): string {
  return `outbound|${port}|${subset}|${host}`;
}

export interface Workload {
  /** Stable id used in the path, the bundle and reports: 'gateway', 'bff', 'svc'. */
  id: string;
  namespace: string;
  /** Deployment name and `app` label. */
  name: string;
  serviceAccount: string;
  spiffeId: string;
  port: number;
}

export const GATEWAY_WORKLOAD: Workload = {
  id: 'gateway',
  namespace: GATEWAY_NAMESPACE,
  name: 'istio-ingressgateway',
  serviceAccount: 'istio-ingressgateway-service-account',
  spiffeId: spiffeId(GATEWAY_NAMESPACE, 'istio-ingressgateway-service-account'),
  port: GATEWAY_HTTPS_TARGET_PORT,
};
export const BFF_WORKLOAD: Workload = {
  id: 'bff', namespace: MESH_NAMESPACE, name: 'bff', serviceAccount: 'bff',
  spiffeId: spiffeId(MESH_NAMESPACE, 'bff'), port: APP_PORT,
};
export const SVC_WORKLOAD: Workload = {
  id: 'svc', namespace: MESH_NAMESPACE, name: 'svc', serviceAccount: 'svc',
  spiffeId: spiffeId(MESH_NAMESPACE, 'svc'), port: APP_PORT,
};

/**
 * The ingress gateway a run goes through, as found from its Service (src/cluster/gateway.ts):
 * istioctl installs `istio-system/istio-ingressgateway` (443 -> 8443, pods `istio=ingressgateway`);
 * Istio's Helm gateway chart names Service, labels and service account after the release, in the
 * release's namespace, with 443 -> 443 (manifests/charts/gateway at 1.30.3: templates/service.yaml,
 * _helpers.tpl gateway.selectorLabels, values.yaml service.ports).
 */
export interface IngressGateway {
  namespace: string;
  /** The Service's name. */
  service: string;
  /** The pod labels the Service selects: also the selector of the Gateway object mesh-verify applies. */
  podLabels: Record<string, string>;
  serviceAccount: string;
  spiffeId: string;
  /** The Service port the Gateway's https server listens on (443) and its targetPort (Envoy's listener port). */
  httpsPort: number;
  targetPort: number;
}

/** The gateway `istioctl install` makes (fixtures/istio/istio-operator.yaml). */
export const DEFAULT_GATEWAY: IngressGateway = {
  namespace: GATEWAY_NAMESPACE,
  service: GATEWAY_WORKLOAD.name,
  podLabels: { istio: 'ingressgateway' },
  serviceAccount: GATEWAY_WORKLOAD.serviceAccount,
  spiffeId: GATEWAY_WORKLOAD.spiffeId,
  httpsPort: GATEWAY_HTTPS_PORT,
  targetPort: GATEWAY_HTTPS_TARGET_PORT,
};

/** Envoy's name for the gateway's https listener: Istio binds 0.0.0.0 on the Service's targetPort. */
export function gatewayListenerName(gw: Pick<IngressGateway, 'targetPort'>): string {
  return `0.0.0.0_${gw.targetPort}`;
}

/** `k1=v1,k2=v2`: a label selector for the gateway's pods. */
export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The gateway's Workload (id 'gateway') for the path: namespace, identity and listener port. */
export function gatewayWorkload(gw: IngressGateway): Workload {
  return { id: GATEWAY_WORKLOAD.id, namespace: gw.namespace, name: gw.service, serviceAccount: gw.serviceAccount, spiffeId: gw.spiffeId, port: gw.targetPort };
}
