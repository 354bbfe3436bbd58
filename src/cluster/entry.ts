import type { V1Node, V1Service } from '@kubernetes/client-node';
import { EnvironmentError } from '../core/errors.js';
import type { PathSpec } from '../bundle/types.js';
import { DEFAULT_GATEWAY, GATEWAY_NODE_PORT, KIND_HOST_PORT } from '../topology/reference.js';
import { httpsServicePort } from './gateway.js';
import type { KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';

/**
 * Annotation on the gateway Service naming the NLB in front of it as HOST:PORT, for a load
 * balancer the Service does not describe (a cloud NLB made outside Kubernetes, the lab's NLB).
 * The lab sets it (src/lab/istio-install.ts); anyone may.
 */
export const ENTRY_ANNOTATION = 'mesh-verify.io/entry';

export interface EntryOptions {
  namespace?: string;
  service?: string;
  /** Host port that kind maps to the gateway's NodePort (fixtures/kind/cluster.yaml). */
  kindHostPort?: number;
  kindNodePort?: number;
  /** The entry the annotation names is the lab's NLB (the API server is the lab). */
  lab?: boolean;
}

/** HOST:PORT, [IPv6]:PORT; null when malformed. */
export function parseHostPort(text: string): { address: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) return null;
  return { address: m[1].replace(/^\[|\]$/g, ''), port };
}

/** An address of a node, for a NodePort: ExternalIP first, then InternalIP (as kubectl shows them). */
export function nodeAddress(nodes: readonly V1Node[]): string | null {
  const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  for (const type of ['ExternalIP', 'InternalIP']) {
    for (const n of ready.length > 0 ? ready : nodes) {
      const a = n.status?.addresses?.find((x) => x.type === type)?.address;
      if (a) return a;
    }
  }
  return null;
}

/**
 * Where the external client connects (the NLB-equivalent), from the gateway Service, in order:
 *  1. the `mesh-verify.io/entry` annotation (the lab's NLB; an NLB the Service does not describe);
 *  2. a LoadBalancer address (cloud load balancer, cloud-provider-kind), on the https port;
 *  3. kind: the host port 127.0.0.1:9443 when the https NodePort is the one kind maps (30443)
 *     and the API server is on this machine;
 *  4. another NodePort: a node's address (from `nodes`) and the NodePort.
 */
export function entryFromService(svc: V1Service, opts: EntryOptions & { apiServerLocal?: boolean; nodes?: readonly V1Node[] } = {}): PathSpec['entry'] {
  const name = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
  const annotated = svc.metadata?.annotations?.[ENTRY_ANNOTATION];
  if (annotated !== undefined) {
    const hp = parseHostPort(annotated);
    if (!hp) throw new EnvironmentError(`Service ${name} has annotation ${ENTRY_ANNOTATION}: "${annotated}", not HOST:PORT`, `fix the annotation, or pass --entry HOST:PORT`);
    return { ...hp, kind: opts.lab ? 'lab-nlb' : 'custom' };
  }
  const https = httpsServicePort(svc) ?? svc.spec?.ports?.find((p) => p.name === 'https');
  if (!https) {
    throw new EnvironmentError(`Service ${name} has no https port 443`,
      'install Istio with fixtures/istio/istio-operator.yaml (mesh-verify up), or pass --entry HOST:PORT');
  }
  const lb = svc.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
  if (svc.spec?.type === 'LoadBalancer' && lb) {
    return { address: (lb.ip ?? lb.hostname)!, port: https.port, kind: 'loadbalancer' };
  }
  const kindNodePort = opts.kindNodePort ?? GATEWAY_NODE_PORT;
  if (https.nodePort === kindNodePort && opts.apiServerLocal !== false) {
    return { address: '127.0.0.1', port: opts.kindHostPort ?? KIND_HOST_PORT, kind: 'nodeport' };
  }
  const node = https.nodePort ? nodeAddress(opts.nodes ?? []) : null;
  if (https.nodePort && node) return { address: node, port: https.nodePort, kind: 'nodeport' };
  throw new EnvironmentError(
    `Service ${name} has no load balancer address${https.nodePort ? ` and no node address was found for its https nodePort ${https.nodePort}` : ' and no https nodePort'}`,
    'pass the NLB with --entry HOST:PORT, or give the gateway Service a LoadBalancer address');
}

function isLoopbackServer(server: string): boolean {
  try {
    const h = new URL(server).hostname.replace(/^\[|\]$/g, '');
    return h === 'localhost' || h === '::1' || /^127\./.test(h);
  } catch {
    return false;
  }
}

export async function resolveEntry(clients: KubeClients, opts: EntryOptions = {}): Promise<PathSpec['entry']> {
  const namespace = opts.namespace ?? DEFAULT_GATEWAY.namespace;
  const name = opts.service ?? DEFAULT_GATEWAY.service;
  let svc: V1Service;
  try {
    svc = await clients.core.readNamespacedService({ name, namespace });
  } catch (err) {
    if (apiErrorCode(err) === 404) {
      throw new EnvironmentError(`ingress gateway Service ${namespace}/${name} not found`, 'install Istio (mesh-verify up) or check --context / --gateway');
    }
    throw new EnvironmentError(`reading Service ${namespace}/${name} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
  }
  const apiServerLocal = isLoopbackServer(clients.server);
  const https = httpsServicePort(svc);
  const needsNodes = !svc.metadata?.annotations?.[ENTRY_ANNOTATION] && !(svc.spec?.type === 'LoadBalancer' && svc.status?.loadBalancer?.ingress?.length)
    && https?.nodePort !== undefined && !(https.nodePort === (opts.kindNodePort ?? GATEWAY_NODE_PORT) && apiServerLocal);
  let nodes: V1Node[] = [];
  if (needsNodes) {
    try {
      nodes = (await clients.core.listNode()).items;
    } catch (err) {
      throw new EnvironmentError(`the gateway Service ${namespace}/${name} is reached through its nodePort ${https!.nodePort}, but listing nodes failed: ${apiErrorMessage(err)}`,
        'pass the NLB with --entry HOST:PORT', { cause: err });
    }
  }
  return entryFromService(svc, { ...opts, apiServerLocal, nodes });
}
