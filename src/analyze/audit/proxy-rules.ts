import type { CertificateInfo, ProxyPosture, SecretInfo } from '../../envoy/types.js';
import type { Finding } from '../types.js';
import { auditFinding, daysLeft, kubeEvidence, podRef, proxyEvidence } from './finding.js';
import { MAX_PROXY_MINORS_BEHIND, minorsBehind, parseIstioVersion } from './istio-version.js';
import { effectivePeerAuthentication, expectedInbound } from './peer-authentication.js';
import type { AuditOptions, IstiodFacts, PeerAuthenticationFacts, PodFacts } from './types.js';

/** What every proxy is judged against (built once per audit). */
export interface ProxyRuleContext {
  options: AuditOptions;
  istiods: IstiodFacts[];
  rootPems: string[];
  /** fingerprint256 of each current root. */
  rootFingerprints: Set<string>;
  peerAuthentications: PeerAuthenticationFacts[];
  /**
   * Whether a workload chain (its PEMs joined) chains to a current root, by chain: replicas of a
   * service account share one certificate, so each distinct chain is verified once per audit.
   */
  chainTrust?: Map<string, boolean>;
  /** Verifies a chain against rootPems (createChainTrust(rootPems): roots decoded once). */
  chainsToRoot: (chainPem: string) => boolean;
}

export interface ProxyRuleResult {
  findings: Finding[];
  /** CA certificates found in this proxy's workload chain (leaf excluded), for intermediate checks. */
  intermediates: CertificateInfo[];
}

/** Istio rotates workload certificates at half their lifetime; under a quarter left means rotation stalled. */
const NOT_ROTATED_FRACTION = 0.25;

export function proxyFindings(pod: PodFacts, posture: ProxyPosture, ctx: ProxyRuleContext): ProxyRuleResult {
  const findings: Finding[] = [
    ...versionFindings(pod, posture, ctx),
    ...secretFindings(pod, posture, ctx),
    ...listenerFindings(pod, posture),
    ...(isGatewayProxy(pod, posture) ? [] : inboundFindings(pod, posture, ctx)),
  ];
  const workload = posture.secrets.find((s) => s.name === 'default' && s.state === 'active');
  const intermediates = (workload?.chain ?? []).slice(1).filter((c) => c.isCa && !ctx.rootFingerprints.has(c.fingerprint256));
  return { findings, intermediates };
}

/**
 * A gateway is a proxy in the `router` role. Its node id says so for certain (`router~...`, the
 * role pilot-agent was started with); the pod's spec (its `proxy router` arguments) only when the
 * node could not be read.
 */
export function isGatewayProxy(pod: Pick<PodFacts, 'gateway'>, posture: Pick<ProxyPosture, 'proxy'> | null): boolean {
  const type = posture?.proxy.type;
  return type ? type === 'router' : pod.gateway;
}

/**
 * SDS names of gateway credentials, as Istio names them (pilot/pkg/model/credentials/resource.go,
 * Istio 1.30.3): `kubernetes://NAME` (a Gateway's credentialName, Secret in the gateway's
 * namespace) and `kubernetes-gateway://NS/NAME` (a Gateway API certificateRef). Null for any
 * other secret (workload `default`, `ROOTCA`, `file-cert:` ...).
 */
export function gatewayCredential(sdsName: string): { name: string; namespace: string | null; gatewayApi: boolean; label: string } | null {
  if (sdsName.startsWith('kubernetes://')) {
    const name = sdsName.slice('kubernetes://'.length);
    return name ? { name, namespace: null, gatewayApi: false, label: name } : null;
  }
  if (sdsName.startsWith('kubernetes-gateway://')) {
    const [namespace, name] = sdsName.slice('kubernetes-gateway://'.length).split('/');
    return namespace && name ? { name, namespace, gatewayApi: true, label: `${namespace}/${name}` } : null;
  }
  return null;
}

function versionFindings(pod: PodFacts, posture: ProxyPosture, ctx: ProxyRuleContext): Finding[] {
  const proxy = parseIstioVersion(posture.proxy.istioVersion);
  if (!proxy) return [];
  const istiod = ctx.istiods.find((i) => i.revision === pod.revision)
    ?? ctx.istiods.find((i) => i.revision === 'default') ?? ctx.istiods[0];
  const cp = parseIstioVersion(istiod?.version);
  const object = `pod ${podRef(pod)}`;
  const out: Finding[] = [];
  if (cp && istiod) {
    const behind = minorsBehind(proxy, cp);
    const ev = [proxyEvidence(podRef(pod), 'config_dump', 'bootstrap node metadata ISTIO_VERSION', proxy.text, cp.text),
      kubeEvidence(`deployment ${istiod.namespace}/${istiod.name} (revision ${istiod.revision})`, `image ${istiod.image ?? '?'}`)];
    if (behind < 0 || behind > MAX_PROXY_MINORS_BEHIND) {
      out.push(auditFinding('proxy-version-unsupported', object,
        `proxy runs Istio ${proxy.text}, ${behind < 0 ? 'ahead of' : `${behind} minor versions behind`} its control plane ${cp.text} (revision ${istiod.revision}): outside Istio's supported skew`,
        `restart the pod so that it is injected with the ${cp.text} proxy (kubectl rollout restart)`, ev));
    } else if (behind === 1) {
      out.push(auditFinding('proxy-version-skew', object,
        `proxy runs Istio ${proxy.text}, one minor version behind its control plane ${cp.text} (revision ${istiod.revision})`,
        'restart the pod to pick up the current proxy before the next control-plane upgrade', ev));
    }
  }
  const target = parseIstioVersion(ctx.options.targetVersion);
  const alreadyUnsupported = out.some((f) => f.code === 'proxy-version-unsupported');
  if (target && !alreadyUnsupported && minorsBehind(proxy, target) > MAX_PROXY_MINORS_BEHIND) {
    out.push(auditFinding('proxy-skew-after-upgrade', object,
      `proxy runs Istio ${proxy.text}: after an upgrade to ${target.text} it would be ${minorsBehind(proxy, target)} minor versions behind (unsupported)`,
      `restart the pod onto a newer proxy before upgrading the control plane to ${target.text}`,
      [proxyEvidence(podRef(pod), 'config_dump', 'bootstrap node metadata ISTIO_VERSION', proxy.text, `>= ${target.major}.${target.minor - MAX_PROXY_MINORS_BEHIND}`)]));
  }
  return out;
}

function secretFindings(pod: PodFacts, posture: ProxyPosture, ctx: ProxyRuleContext): Finding[] {
  const out: Finding[] = [];
  const opts = ctx.options;
  const ref = podRef(pod);
  for (const s of posture.secrets.filter((x) => x.state === 'warming')) {
    out.push(auditFinding('sds-secret-warming', `secret ${s.name} on pod ${ref}`,
      `SDS secret ${s.name} is still warming: listeners or clusters that use it cannot serve TLS`,
      warmingFix(s.name),
      [proxyEvidence(ref, 'config_dump', `dynamic_warming_secrets ${s.name}`, 'warming', 'active')]));
  }
  const workload = posture.secrets.find((s) => s.name === 'default' && s.state === 'active' && s.chain.length > 0);
  const warmingDefault = posture.secrets.some((s) => s.name === 'default' && s.state === 'warming');
  if (!workload && !warmingDefault) {
    out.push(auditFinding('workload-cert-missing', `pod ${ref}`,
      'the proxy holds no workload certificate (SDS secret default): it cannot take part in mTLS',
      'check istio-agent logs (kubectl logs -c istio-proxy) and that istiod issues certificates',
      [proxyEvidence(ref, 'config_dump', 'dynamic_active_secrets default', 'absent', 'an active certificate')]));
  }
  if (workload) out.push(...workloadCertFindings(pod, workload, ctx));
  const rootca = posture.secrets.find((s) => s.name === 'ROOTCA' && s.state === 'active' && s.chain.length > 0);
  if (rootca && ctx.rootFingerprints.size > 0 && !rootca.chain.some((c) => ctx.rootFingerprints.has(c.fingerprint256))) {
    out.push(auditFinding('trust-bundle-stale', `pod ${ref}`,
      `the proxy's trust bundle (ROOTCA) does not hold the current mesh root: it rejects peers with current certificates`,
      'restart the pod so that istio-agent fetches the current root (kubectl rollout restart)',
      [proxyEvidence(ref, 'config_dump', 'dynamic_active_secrets ROOTCA', rootca.chain.map((c) => c.subject).join('; '), 'the current mesh root')]));
  }
  for (const s of posture.secrets.filter((x) => x.state === 'active')) {
    const credential = gatewayCredential(s.name);
    if (credential) out.push(...gatewayCredentialFindings(pod, posture, s, credential, opts));
  }
  return out;
}

function warmingFix(sdsName: string): string {
  const c = gatewayCredential(sdsName);
  if (!c) return 'check istio-agent logs of the pod (kubectl logs -c istio-proxy) for SDS errors';
  if (!c.gatewayApi) return `create the TLS Secret ${c.name} in the gateway's namespace (or fix credentialName)`;
  return `create the TLS Secret ${c.name} in namespace ${c.namespace} (or fix the Gateway's certificateRefs; a Secret in another namespace than the Gateway's needs a ReferenceGrant)`;
}

function workloadCertFindings(pod: PodFacts, secret: SecretInfo, ctx: ProxyRuleContext): Finding[] {
  const out: Finding[] = [];
  const ref = podRef(pod);
  const leaf = secret.chain[0];
  const now = ctx.options.now.getTime();
  const notAfter = Date.parse(leaf.notAfter);
  const notBefore = Date.parse(leaf.notBefore);
  const ev = proxyEvidence(ref, 'config_dump', 'dynamic_active_secrets default', `${leaf.spiffeId ?? leaf.subject} notAfter ${leaf.notAfter}`);
  if (notAfter <= now) {
    out.push(auditFinding('workload-cert-expired', `pod ${ref}`, `the workload certificate expired on ${leaf.notAfter}: mTLS to and from this pod fails`,
      'restart the pod and check istio-agent logs for why rotation stopped', [ev]));
  } else if (notAfter > notBefore && (notAfter - now) / (notAfter - notBefore) < NOT_ROTATED_FRACTION) {
    out.push(auditFinding('workload-cert-not-rotated', `pod ${ref}`,
      `the workload certificate has ${Math.round((notAfter - now) / 60_000)} minutes of ${Math.round((notAfter - notBefore) / 60_000)} left: rotation at half-life did not happen`,
      'check istio-agent logs (kubectl logs -c istio-proxy) and istiod reachability from the pod', [ev]));
  }
  if (ctx.rootPems.length > 0 && !trusted(secret.chain.map((c) => c.pem).join(''), ctx)) {
    out.push(auditFinding('workload-cert-untrusted-root', `pod ${ref}`,
      `the workload certificate (issuer ${leaf.issuer}) does not chain to the current mesh root: peers that trust only the current root reject it`,
      'restart the pod so that it gets a certificate from the current CA (stale trust after a root rotation)',
      [{ ...ev, observed: `issuer ${leaf.issuer}`, expected: 'a chain to the current mesh root' }]));
  }
  return out;
}

function trusted(chainPem: string, ctx: ProxyRuleContext): boolean {
  const known = ctx.chainTrust?.get(chainPem);
  if (known !== undefined) return known;
  const ok = ctx.chainsToRoot(chainPem);
  ctx.chainTrust?.set(chainPem, ok);
  return ok;
}

function gatewayCredentialFindings(pod: PodFacts, posture: ProxyPosture, secret: SecretInfo,
  credentialRef: NonNullable<ReturnType<typeof gatewayCredential>>, opts: AuditOptions): Finding[] {
  const out: Finding[] = [];
  const ref = podRef(pod);
  const object = `secret ${secret.name} on pod ${ref}`;
  const leaf = secret.chain[0];
  if (!leaf) return out;
  const days = daysLeft(leaf.notAfter, opts.now);
  const ev = proxyEvidence(ref, 'config_dump', `dynamic_active_secrets ${secret.name}`, `notAfter ${leaf.notAfter} (${days} days left), DNS ${leaf.dnsSans.join(',') || '-'}`);
  const credential = credentialRef.label;
  const where = credentialRef.namespace ? ` -n ${credentialRef.namespace}` : '';
  if (Date.parse(leaf.notAfter) <= opts.now.getTime()) {
    out.push(auditFinding('gateway-cert-expired', object, `gateway credential ${credential} expired on ${leaf.notAfter}: clients reject the gateway`,
      `renew the TLS Secret ${credential} (cert-manager or kubectl create secret tls ${credentialRef.name}${where} --dry-run=client -o yaml | kubectl apply -f -)`, [ev]));
  } else if (days < opts.minCertDays) {
    out.push(auditFinding('gateway-cert-expiring', object, `gateway credential ${credential} expires in ${days} days (${leaf.notAfter})`,
      `renew the TLS Secret ${credential} before ${leaf.notAfter.slice(0, 10)}`, [ev]));
  }
  const hosts = new Set<string>();
  for (const l of posture.listeners) {
    for (const fc of l.filterChains) {
      if (fc.certificateSecrets.includes(secret.name)) fc.serverNames.forEach((h) => hosts.add(h));
    }
  }
  const uncovered = [...hosts].filter((h) => !leaf.dnsSans.some((san) => hostMatches(san, h)));
  if (uncovered.length > 0) {
    out.push(auditFinding('gateway-cert-host-mismatch', object,
      `gateway credential ${credential} does not cover ${uncovered.join(', ')} (certificate DNS names: ${leaf.dnsSans.join(', ') || 'none'})`,
      `reissue ${credential} with ${uncovered.join(', ')} in its subjectAltName, or fix the Gateway hosts`,
      [{ ...ev, subject: `filter chains serving ${secret.name}`, observed: `server names ${[...hosts].join(', ')}`, expected: `covered by ${leaf.dnsSans.join(', ') || '-'}` }]));
  }
  return out;
}

/** RFC 6125 style: a wildcard covers exactly one left-most label. */
export function hostMatches(san: string, host: string): boolean {
  const s = san.toLowerCase();
  const h = host.toLowerCase();
  if (s === h) return true;
  if (s.startsWith('*.')) {
    const dot = h.indexOf('.');
    return dot > 0 && h.slice(dot) === s.slice(1);
  }
  return false;
}

function listenerFindings(pod: PodFacts, posture: ProxyPosture): Finding[] {
  return posture.listeners.filter((l) => l.state === 'error').map((l) => auditFinding('listener-error',
    `listener ${l.name} on pod ${podRef(pod)}`,
    `listener ${l.name} was rejected by Envoy${l.error ? `: ${l.error}` : ''}; the proxy keeps serving its previous config for it, or nothing`,
    'fix the Istio resource that produced it (istioctl analyze), then check istiod logs for the push',
    [proxyEvidence(podRef(pod), 'config_dump', `dynamic_listeners ${l.name}`, 'error_state', 'active_state')]));
}

const RANK = { PLAINTEXT: 0, PERMISSIVE: 1, STRICT: 2 } as const;

function inboundFindings(pod: PodFacts, posture: ProxyPosture, ctx: ProxyRuleContext): Finding[] {
  const out: Finding[] = [];
  const ref = podRef(pod);
  for (const ip of posture.inbound) {
    if (!ip.inEffect) continue;
    const policy = effectivePeerAuthentication(pod, ip.port, ctx.peerAuthentications, ctx.options.rootNamespace);
    const expected = expectedInbound(policy.mode);
    const object = `pod ${ref} port ${ip.port || '*'}`;
    const ev = [proxyEvidence(ref, 'config_dump', `listener ${ip.listener} port ${ip.port || '*'}`, `accepts ${ip.mode}`, expected),
      { ...kubeEvidence(policy.source, `mtls.mode ${policy.mode}`), effect: 'neutral' as const }];
    if (RANK[ip.mode] < RANK[expected]) {
      out.push(auditFinding('drift-accepts-plaintext', object,
        `policy says ${policy.mode} (${policy.source}) but the proxy in effect accepts ${ip.mode === 'PLAINTEXT' ? 'only plaintext' : 'plaintext too (PERMISSIVE)'}`,
        'check that istiod pushed the policy to this proxy (istioctl proxy-status) and restart the pod if it is stale', ev));
    } else if (RANK[ip.mode] > RANK[expected]) {
      out.push(auditFinding('drift-stricter-than-policy', object,
        `policy says ${policy.mode} (${policy.source}) but the proxy in effect is ${ip.mode}: plaintext callers the policy allows are refused`,
        'check istioctl proxy-status for a stale push; restart the pod if its config is out of date', ev));
    } else if (ip.mode === 'PERMISSIVE') {
      out.push(auditFinding('inbound-permissive', object,
        `port ${ip.port || '*'} accepts plaintext as well as mTLS (PERMISSIVE, from ${policy.source})`,
        `set a PeerAuthentication with mtls.mode STRICT for ${pod.namespace} once every caller has a sidecar`, ev));
    } else if (ip.mode === 'PLAINTEXT') {
      out.push(auditFinding('inbound-plaintext', object,
        `port ${ip.port || '*'} accepts only plaintext (mtls DISABLE, from ${policy.source})`,
        `remove the DISABLE PeerAuthentication (${policy.source}) or set it to STRICT`, ev));
    }
  }
  return out;
}
