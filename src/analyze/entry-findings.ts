import type { EvidenceBundle } from '../bundle/types.js';
import type { Finding } from './types.js';

/** What to check, by how the entry was found (PathSpec.entry.kind). */
const ENTRY_FIX: Record<EvidenceBundle['path']['entry']['kind'], string> = {
  'lab-nlb': 'start the lab (mesh-verify lab up) and use the kubeconfig it prints, or pass its NLB with --entry HOST:PORT',
  nodeport: 'check that the node port is reachable from here (kind: the extraPortMappings of fixtures/kind/cluster.yaml map 30443 to 127.0.0.1:9443), or pass the NLB with --entry HOST:PORT',
  loadbalancer: "check that the gateway Service's load balancer forwards its port to the gateway and is reachable from here, or pass the NLB with --entry HOST:PORT",
  custom: 'check that --entry HOST:PORT (or the gateway Service\'s mesh-verify.io/entry annotation) names the NLB in front of the ingress gateway',
};

/**
 * The entry (the NLB) refused or never answered: no request got an HTTP answer and no TLS
 * handshake completed. Every verdict is then inconclusive for want of traffic; this says why.
 */
export function entryFindings(bundle: EvidenceBundle): Finding[] {
  const client = bundle.client;
  const requests = bundle.requests;
  if (!client || client.tlsVersion || requests.length === 0 || requests.some((r) => r.status !== null)) return [];
  const entry = bundle.path.entry;
  const errors = [...new Set([client.error, ...requests.map((r) => r.error)].filter((e): e is string => !!e))];
  return [{
    severity: 'error', code: 'entry-unreachable', object: `entry ${entry.address}:${entry.port} (${entry.kind})`,
    message: `none of the ${requests.length} requests reached the gateway: the entry ${entry.address}:${entry.port} ${errors.some((e) => /refused/.test(e)) ? 'refused the connection' : 'did not answer'}${errors[0] ? ` (${errors[0]})` : ''}`,
    evidence: errors.map((e) => ({ level: 'traffic' as const, proxy: 'client', source: 'client_handshake', subject: `connect ${entry.address}:${entry.port}`, observed: e, effect: 'neutral' as const })),
    fix: ENTRY_FIX[entry.kind],
  }];
}
