import type { V1Service } from '@kubernetes/client-node';
import { EnvironmentError } from '../cli/errors.js';
import type { PathSpec } from '../bundle/types.js';
import { GATEWAY_HTTPS_PORT, GATEWAY_NODE_PORT, GATEWAY_WORKLOAD, KIND_HOST_PORT } from '../topology/reference.js';
import type { KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';

export interface EntryOptions {
  namespace?: string;
  service?: string;
  /** Host port that kind maps to the gateway's NodePort (fixtures/kind/cluster.yaml). */
  kindHostPort?: number;
  kindNodePort?: number;
}

/**
 * Where the external client connects (the NLB-equivalent), from the gateway Service:
 *  - a LoadBalancer address when the Service has one (cloud load balancer, cloud-provider-kind);
 *  - else the kind host port 127.0.0.1:9443 when the https NodePort is the one kind maps (30443).
 */
export function entryFromService(svc: V1Service, opts: EntryOptions = {}): PathSpec['entry'] {
  const name = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
  const https = svc.spec?.ports?.find((p) => p.port === GATEWAY_HTTPS_PORT) ?? svc.spec?.ports?.find((p) => p.name === 'https');
  if (!https) {
    throw new EnvironmentError(`Service ${name} has no https port ${GATEWAY_HTTPS_PORT}`,
      'install Istio with fixtures/istio/istio-operator.yaml (mesh-verify up)');
  }
  const lb = svc.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
  if (svc.spec?.type === 'LoadBalancer' && lb) {
    return { address: (lb.ip ?? lb.hostname)!, port: https.port, kind: 'loadbalancer' };
  }
  const nodePort = opts.kindNodePort ?? GATEWAY_NODE_PORT;
  if (https.nodePort === nodePort) {
    return { address: '127.0.0.1', port: opts.kindHostPort ?? KIND_HOST_PORT, kind: 'nodeport' };
  }
  throw new EnvironmentError(
    `Service ${name} has no load balancer address and its https nodePort is ${https.nodePort ?? 'unset'}, not ${nodePort} (the port kind maps to 127.0.0.1:${opts.kindHostPort ?? KIND_HOST_PORT})`,
    'install Istio with fixtures/istio/istio-operator.yaml, or give the gateway Service a LoadBalancer address');
}

export async function resolveEntry(clients: KubeClients, opts: EntryOptions = {}): Promise<PathSpec['entry']> {
  const namespace = opts.namespace ?? GATEWAY_WORKLOAD.namespace;
  const name = opts.service ?? GATEWAY_WORKLOAD.name;
  let svc: V1Service;
  try {
    svc = await clients.core.readNamespacedService({ name, namespace });
  } catch (err) {
    if (apiErrorCode(err) === 404) {
      throw new EnvironmentError(`ingress gateway Service ${namespace}/${name} not found`, 'install Istio (mesh-verify up) or check --context');
    }
    throw new EnvironmentError(`reading Service ${namespace}/${name} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
  }
  return entryFromService(svc, opts);
}
