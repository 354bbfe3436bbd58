import type { Finding } from '../types.js';
import { auditFinding, kubeEvidence, podRef } from './finding.js';
import { selects } from './peer-authentication.js';
import type { DestinationRuleFacts, MeshPolicy, NamespaceFacts, PodFacts, ServiceFacts } from './types.js';

const CLUSTER_DOMAIN = 'svc.cluster.local';

/**
 * Whether a pod without a sidecar is in the ambient mesh (ztunnel carries its traffic), as
 * istio-cni decides it with its default enablement selectors: the pod is labelled
 * istio.io/dataplane-mode=ambient, or its namespace is and the pod does not opt out with
 * istio.io/dataplane-mode=none; a pod with a sidecar never is. istio-cni's mark of an enrolled
 * pod (annotation ambient.istio.io/redirection=enabled) counts too. Upstream (Istio 1.30.3):
 * manifests/charts/istio-cni/values.yaml (ambient.enablementSelectors),
 * cni/pkg/util/enablement_selector.go (Matches), cni/pkg/util/podutil.go (PodFullyEnrolled).
 */
export function inAmbientMesh(pod: PodFacts, ns: NamespaceFacts | undefined): boolean {
  if (pod.hasSidecar) return false;
  if (pod.ambientRedirection === 'enabled' || pod.dataplaneMode === 'ambient') return true;
  return ns?.dataplaneMode === 'ambient' && pod.dataplaneMode !== 'none';
}

/** Policy-level findings: DestinationRules, pods without sidecars, services with plaintext endpoints, ambient pods. */
export function policyFindings(policy: MeshPolicy): Finding[] {
  const injected = new Set(policy.namespaces.filter((n) => n.injected).map((n) => n.name));
  const nsByName = new Map(policy.namespaces.map((n) => [n.name, n]));
  const ambient = policy.pods.filter((p) => inAmbientMesh(p, nsByName.get(p.namespace)));
  const ambientSet = new Set(ambient);
  // Pods outside the mesh: neither a sidecar nor ztunnel.
  const bare = (p: PodFacts) => !p.hasSidecar && !ambientSet.has(p);
  const podsByNs = groupBy(policy.pods, (p) => p.namespace);
  return [
    ...destinationRuleFindings(policy.destinationRules, policy.services, podsByNs),
    ...podsWithoutSidecar(policy.pods.filter(bare), injected),
    ...plaintextEndpoints(policy.services, podsByNs, injected, bare),
    ...ambientFindings(ambient),
  ];
}

/** One info finding: ambient pods are in the mesh, but the audit reads sidecars and gateways only. */
function ambientFindings(ambient: PodFacts[]): Finding[] {
  if (ambient.length === 0) return [];
  const byNs = groupBy(ambient, (p) => p.namespace);
  const list = [...byNs].map(([ns, pods]) => `${ns} (${pods.length})`);
  return [auditFinding('ambient-not-verified', `ambient pods in ${byNs.size} namespace(s)`,
    `${ambient.length} pod(s) run in ambient mode (ztunnel, no sidecar) in ${list.slice(0, 8).join(', ')}${list.length > 8 ? ', ...' : ''}: `
      + 'they are in the mesh, but this audit does not verify their hops yet (it reads sidecars and gateways only)',
    'check them with istioctl ztunnel-config workload (and the waypoints with istioctl proxy-config)',
    [...byNs].slice(0, 5).map(([ns, pods]) => ({
      ...kubeEvidence(`namespace ${ns}`, `${pods.length} pod(s) in ambient mode: ${pods.slice(0, 3).map((p) => p.name).join(', ')}${pods.length > 3 ? ', ...' : ''}`), effect: 'neutral' as const,
    })))];
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

/** `pods` are the pods outside the mesh (no sidecar, not ambient). */
function podsWithoutSidecar(pods: PodFacts[], injected: Set<string>): Finding[] {
  return pods.filter((p) => injected.has(p.namespace)).map((p) => {
    const optedOut = p.labels['sidecar.istio.io/inject'] === 'false' || p.annotations['sidecar.istio.io/inject'] === 'false';
    return auditFinding('pod-without-sidecar', `pod ${podRef(p)}`,
      optedOut ? `pod opts out of injection (sidecar.istio.io/inject=false) in an injected namespace: it sends and accepts plaintext`
        : 'pod runs without istio-proxy in an injected namespace (created before injection was on, or injection failed): it sends and accepts plaintext',
      optedOut ? 'remove the sidecar.istio.io/inject=false opt-out and restart the pod, or move it out of the mesh namespace'
        : 'restart the pod (kubectl rollout restart) so that the injector adds istio-proxy',
      [kubeEvidence(`pod ${podRef(p)} containers`, 'no istio-proxy', 'istio-proxy')]);
  });
}

function plaintextEndpoints(services: ServiceFacts[], podsByNs: Map<string, PodFacts[]>, injected: Set<string>,
  outsideMesh: (p: PodFacts) => boolean): Finding[] {
  const out: Finding[] = [];
  const outside = new Map<string, string[]>();
  for (const s of services) {
    const bare = selectedPods(s, podsByNs).filter(outsideMesh);
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
