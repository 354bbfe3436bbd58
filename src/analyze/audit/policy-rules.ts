import type { Finding } from '../types.js';
import { auditFinding, kubeEvidence, podRef } from './finding.js';
import { selects } from './peer-authentication.js';
import type { DestinationRuleFacts, MeshPolicy, PodFacts, ServiceFacts } from './types.js';

const CLUSTER_DOMAIN = 'svc.cluster.local';

/** Policy-level findings: DestinationRules, pods without sidecars, services with plaintext endpoints. */
export function policyFindings(policy: MeshPolicy): Finding[] {
  const injected = new Set(policy.namespaces.filter((n) => n.injected).map((n) => n.name));
  const podsByNs = groupBy(policy.pods, (p) => p.namespace);
  return [
    ...destinationRuleFindings(policy.destinationRules, policy.services, podsByNs),
    ...podsWithoutSidecar(policy.pods, injected),
    ...plaintextEndpoints(policy.services, podsByNs, injected),
  ];
}

/** `reviews` in ns `default` -> reviews.default.svc.cluster.local; FQDNs and wildcards unchanged. */
export function qualifyHost(host: string, namespace: string): string {
  if (host === '*' || host.startsWith('*.') || host.endsWith(`.${CLUSTER_DOMAIN}`)) return host;
  const dots = host.split('.').length - 1;
  if (dots === 0) return `${host}.${namespace}.${CLUSTER_DOMAIN}`;
  if (dots === 1) return `${host}.${CLUSTER_DOMAIN}`;
  return host;
}

function hostCovers(pattern: string, fqdn: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return fqdn.endsWith(pattern.slice(1));
  return pattern === fqdn;
}

function destinationRuleFindings(rules: DestinationRuleFacts[], services: ServiceFacts[], podsByNs: Map<string, PodFacts[]>): Finding[] {
  const out: Finding[] = [];
  for (const dr of rules) {
    const host = qualifyHost(dr.host, dr.namespace);
    const meshServices = services.filter((s) => hostCovers(host, `${s.name}.${s.namespace}.${CLUSTER_DOMAIN}`)
      && selectedPods(s, podsByNs).some((p) => p.hasSidecar));
    if (meshServices.length === 0) continue;
    const target = meshServices.length === 1 ? `${meshServices[0].name}.${meshServices[0].namespace}` : `${meshServices.length} in-mesh services`;
    const disabled = dr.tls.filter((t) => t.mode === 'DISABLE');
    const simple = dr.tls.filter((t) => t.mode === 'SIMPLE');
    const object = `DestinationRule ${dr.namespace}/${dr.name}`;
    if (disabled.length > 0) {
      out.push(auditFinding('destinationrule-tls-disabled', object,
        `tls.mode DISABLE (${disabled.map((t) => t.where).join(', ')}) makes sidecars send plaintext to ${target}, which has sidecars`,
        'set tls.mode ISTIO_MUTUAL (or remove the tls block: auto mTLS applies)',
        disabled.map((t) => kubeEvidence(`${object} ${t.where}`, `tls.mode ${t.mode}`, 'ISTIO_MUTUAL or unset', `host ${dr.host}`))));
    }
    if (simple.length > 0) {
      out.push(auditFinding('destinationrule-tls-simple', object,
        `tls.mode SIMPLE (${simple.map((t) => t.where).join(', ')}) downgrades mTLS to one-way TLS toward ${target}: no client identity, STRICT servers refuse it`,
        'set tls.mode ISTIO_MUTUAL (or remove the tls block: auto mTLS applies)',
        simple.map((t) => kubeEvidence(`${object} ${t.where}`, `tls.mode ${t.mode}`, 'ISTIO_MUTUAL or unset', `host ${dr.host}`))));
    }
  }
  return out;
}

function podsWithoutSidecar(pods: PodFacts[], injected: Set<string>): Finding[] {
  return pods.filter((p) => injected.has(p.namespace) && !p.hasSidecar).map((p) => {
    const optedOut = p.labels['sidecar.istio.io/inject'] === 'false' || p.annotations['sidecar.istio.io/inject'] === 'false';
    return auditFinding('pod-without-sidecar', `pod ${podRef(p)}`,
      optedOut ? `pod opts out of injection (sidecar.istio.io/inject=false) in an injected namespace: it sends and accepts plaintext`
        : 'pod runs without istio-proxy in an injected namespace (created before injection was on, or injection failed): it sends and accepts plaintext',
      optedOut ? 'remove the sidecar.istio.io/inject=false opt-out and restart the pod, or move it out of the mesh namespace'
        : 'restart the pod (kubectl rollout restart) so that the injector adds istio-proxy',
      [kubeEvidence(`pod ${podRef(p)} containers`, 'no istio-proxy', 'istio-proxy')]);
  });
}

function plaintextEndpoints(services: ServiceFacts[], podsByNs: Map<string, PodFacts[]>, injected: Set<string>): Finding[] {
  const out: Finding[] = [];
  const outside = new Map<string, string[]>();
  for (const s of services) {
    const bare = selectedPods(s, podsByNs).filter((p) => !p.hasSidecar);
    if (bare.length === 0) continue;
    if (!injected.has(s.namespace)) {
      outside.set(s.namespace, [...(outside.get(s.namespace) ?? []), s.name]);
      continue;
    }
    const ports = s.ports.map((p) => p.port).join(',');
    out.push(auditFinding('plaintext-endpoint', `Service ${s.namespace}/${s.name}`,
      `${bare.length} endpoint(s) of ${s.name} (port ${ports}) have no sidecar (no tlsMode: istio): every caller reaches them in plaintext`,
      `restart ${bare.map((p) => p.name).slice(0, 3).join(', ')}${bare.length > 3 ? ', ...' : ''} with sidecar injection on`,
      bare.slice(0, 5).map((p) => kubeEvidence(`pod ${podRef(p)} (endpoint of ${s.name})`, 'no label security.istio.io/tlsMode=istio', 'tlsMode istio'))));
  }
  for (const [ns, names] of outside) {
    out.push(auditFinding('plaintext-endpoint-outside-mesh', `namespace ${ns}`,
      `${names.length} service(s) outside the mesh receive plaintext from sidecars: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}`,
      `label namespace ${ns} for injection if this traffic should be encrypted`, []));
  }
  return out;
}

function selectedPods(s: ServiceFacts, podsByNs: Map<string, PodFacts[]>): PodFacts[] {
  if (!s.selector || Object.keys(s.selector).length === 0) return [];
  return (podsByNs.get(s.namespace) ?? []).filter((p) => selects(s.selector!, p.labels));
}

function groupBy<T>(list: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of list) {
    const k = key(t);
    const arr = m.get(k);
    if (arr) arr.push(t);
    else m.set(k, [t]);
  }
  return m;
}
