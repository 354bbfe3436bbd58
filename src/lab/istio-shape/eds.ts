import { ENVOY_ADMIN_PORT } from '../../topology/reference.js';

/**
 * EDS entries of an istio-proxy /config_dump?include_eds (EndpointsConfigDump), shared by the
 * reference lab's proxies and the scale fleet.
 */

const CLA_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

/**
 * One LbEndpoint as istiod sends it: the workload metadata (`name;namespace;app;version;cluster`)
 * and, only for pods with an injected sidecar (label security.istio.io/tlsMode=istio), the
 * tlsMode-istio socket match.
 */
export function lbEndpoint(ip: string, port: number, workload: string, sidecar: boolean): Record<string, unknown> {
  const filter_metadata: Record<string, unknown> = { istio: { workload } };
  if (sidecar) filter_metadata['envoy.transport_socket_match'] = { tlsMode: 'istio' };
  return { endpoint: { address: { socket_address: { address: ip, port_value: port } }, health_check_config: {} }, health_status: 'HEALTHY', metadata: { filter_metadata }, load_balancing_weight: 1 };
}

/** A dynamic_endpoint_configs entry: the cluster's endpoints in one locality. */
export function dynamicEndpointConfig(clusterName: string, lbEndpoints: Record<string, unknown>[]): Record<string, unknown> {
  return {
    endpoint_config: {
      '@type': CLA_TYPE, cluster_name: clusterName,
      endpoints: [{ locality: {}, lb_endpoints: lbEndpoints, load_balancing_weight: lbEndpoints.length }],
      policy: { overprovisioning_factor: 140 },
    },
  };
}

/** static_endpoint_configs of every istio-proxy: prometheus_stats, the admin port. */
export function staticEndpointConfigs(): Record<string, unknown>[] {
  return [{ endpoint_config: { '@type': CLA_TYPE, cluster_name: 'prometheus_stats', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: ENVOY_ADMIN_PORT } } }, health_status: 'HEALTHY' }] }] } }];
}
