import type { SecretInfo } from '../envoy/types.js';
import { chainsTo } from '../envoy/certificate.js';
import type { EvidenceItem, Finding } from './types.js';
import type { AnalysisContext, ProxyFacts } from './proxy-facts.js';
import { proxyLabel } from './proxy-facts.js';
import { chainPem, expiringSoon, leafOf, timeLeft } from './certificate-evidence.js';
import { hasDataPlaneSslStats } from './stats-evidence.js';
import { requestDeltas, seriesSubject } from './telemetry-evidence.js';
import { compareCredential } from './edge-segment.js';
import { nodeOf } from './path-nodes.js';
import { entryFindings } from './entry-findings.js';

/**
 * Problems worth telling that are not a segment verdict: how proxies accept traffic, the state
 * of certificates and roots, what could not be captured, and where TLS really ended.
 */

function item(p: ProxyFacts | null, source: string, subject: string, observed: string, effect: EvidenceItem['effect'] = 'neutral'): EvidenceItem {
  return { level: source === 'config_dump' ? 'config' : source === 'prometheus' || source === 'stats' ? 'traffic' : 'identity', proxy: p?.id ?? 'client', source, subject, observed, effect };
}

function captureFindings(p: ProxyFacts): Finding[] {
  if (!p.capture.reachable || (!p.posture && p.gaps.length > 0)) {
    return [{
      severity: 'warning', code: 'proxy-not-captured', object: `proxy ${proxyLabel(p)}`,
      message: p.gaps.join('; ') || `proxy ${p.id} was not captured`,
      evidence: p.capture.errors.map((e) => item(p, 'capture', `${e.endpoint} (${e.phase})`, e.message)),
      fix: 'check that the pod runs an istio-proxy container (sidecar injection) and that its admin port 15000 answers',
    }];
  }
  return [];
}

function notIstioFindings(p: ProxyFacts): Finding[] {
  if (!p.notIstio) return [];
  return [{
    severity: 'warning', code: 'not-istio-proxy', object: `proxy ${proxyLabel(p)}`,
    message: `the config dump of ${p.id} does not come from an Istio proxy (no sidecar~/router~ node id, no Istio listeners, clusters or SDS secrets)`,
    evidence: [item(p, 'config_dump', 'bootstrap node', p.posture?.proxy.id ?? '(none)')],
    fix: 'capture the istio-proxy container of the pod named in the path spec',
  }];
}

function permissiveFindings(p: ProxyFacts): Finding[] {
  return (p.posture?.inbound ?? []).filter((m) => m.mode === 'PERMISSIVE' && m.inEffect && !m.catchAll).map((m) => ({
    severity: 'warning' as const, code: 'inbound-permissive', object: `pod ${p.capture.pod.namespace}/${p.capture.pod.name} port ${m.port}`,
    message: `${p.id} accepts plaintext as well as mTLS on port ${m.port} (PERMISSIVE), whatever this run's requests used`,
    evidence: [item(p, 'config_dump', `${m.listener} port ${m.port}`, 'PERMISSIVE (mTLS and plaintext filter chains)')],
    fix: `apply a PeerAuthentication with mtls.mode STRICT in namespace ${p.capture.pod.namespace}`,
  }));
}

function plaintextAcceptedFindings(p: ProxyFacts): Finding[] {
  const plain = (requestDeltas(p) ?? []).filter((d) => d.series.reporter === 'destination' && d.series.connectionSecurityPolicy === 'none');
  if (plain.length === 0) return [];
  const total = plain.reduce((n, d) => n + d.delta, 0);
  const sources = [...new Set(plain.map((d) => d.series.sourceWorkload ?? 'unknown'))];
  return [{
    severity: 'error', code: 'plaintext-accepted', object: `pod ${p.capture.pod.namespace}/${p.capture.pod.name}`,
    message: `${p.id} accepted ${total} plaintext request(s) during the run from ${sources.map((s) => `source_workload=${s}`).join(', ')}`,
    evidence: plain.map((d) => item(p, 'prometheus', seriesSubject(d.series), `+${d.delta}`, 'contradicts')),
    fix: 'make the port STRICT (PeerAuthentication) and give the plaintext caller a sidecar',
  }];
}

function certificateFindings(p: ProxyFacts, ctx: AnalysisContext): Finding[] {
  const out: Finding[] = [];
  const certs = (p.posture?.secrets ?? []).filter((s): s is SecretInfo => s.kind === 'certificate' && s.chain.length > 0);
  for (const s of certs) {
    const leaf = s.chain[0];
    const object = `secret ${s.name} on ${p.id}`;
    const who = leaf.spiffeId ?? leaf.subject ?? '';
    if (new Date(leaf.notAfter).getTime() <= ctx.now.getTime()) {
      out.push({
        severity: 'error', code: 'cert-expired', object, message: `certificate ${who} expired on ${leaf.notAfter}`,
        evidence: [item(p, 'config_dump', `secret ${s.name}: notAfter`, leaf.notAfter, 'contradicts')],
        fix: s.name === 'default' ? `restart the pod ${p.capture.pod.namespace}/${p.capture.pod.name} so istio-agent fetches a new certificate; check istiod's CA` : `renew the certificate in ${s.name.replace('kubernetes://', 'Secret ')}`,
      });
    } else if (expiringSoon(leaf, ctx.now, ctx.certWarnDays)) {
      out.push({
        severity: 'warning', code: 'cert-expiring', object,
        message: `certificate ${who} expires in ${timeLeft(leaf, ctx.now)} (${leaf.notAfter}; within ${ctx.certWarnDays} days and past half its lifetime)`,
        evidence: [item(p, 'config_dump', `secret ${s.name}: notAfter`, leaf.notAfter)],
        fix: s.name === 'default' ? 'check that istio-agent rotates workload certificates' : `renew the certificate in ${s.name.replace('kubernetes://', 'Secret ')}`,
      });
    }
  }
  return out;
}

/** Workload certificates must all chain to one root: each to its own ROOTCA and to every peer's. */
function rootFindings(ctx: AnalysisContext): Finding[] {
  const proxies = [...ctx.proxies.values()].filter((p) => p.workloadCert && p.roots.length > 0);
  const out: Finding[] = [];
  for (const p of proxies) {
    const secret = p.workloadCert as SecretInfo;
    const failed = proxies.filter((q) => !chainsTo(chainPem(secret), q.roots.map((r) => r.pem)));
    if (failed.length > 0) {
      const leaf = leafOf(secret);
      out.push({
        severity: 'error', code: 'cert-foreign-root', object: `secret default on ${p.id}`,
        message: `the workload certificate of ${p.id} (issuer ${leaf?.issuer ?? '-'}) does not chain to the ROOTCA of ${failed.map((q) => q.id).join(', ')}`,
        evidence: failed.map((q) => item(q, 'config_dump', 'secret ROOTCA', q.roots.map((r) => r.subject).join(' | '), 'contradicts')),
        fix: 'issue workload certificates from the mesh CA (check istiod / cacerts and the proxy\'s CA address)',
      });
    }
  }
  const rootSets = new Map<string, string[]>();
  for (const p of proxies) {
    const key = p.roots.map((r) => r.fingerprint256).sort().join(',');
    rootSets.set(key, [...(rootSets.get(key) ?? []), p.id]);
  }
  if (rootSets.size > 1) {
    out.push({
      severity: 'warning', code: 'trust-roots-differ', object: 'secret ROOTCA',
      message: `proxies trust different roots: ${[...rootSets.values()].map((ids) => ids.join('+')).join(' vs ')}`,
      evidence: proxies.map((p) => item(p, 'config_dump', 'secret ROOTCA', p.roots.map((r) => `${r.subject} (sha256 ${r.fingerprint256.slice(0, 16)}…)`).join(' | '))),
      fix: 'distribute one mesh root (istio-ca-root-cert) to every namespace',
    });
  }
  return out;
}

function statsFindings(p: ProxyFacts): Finding[] {
  if (!p.statsAfter || hasDataPlaneSslStats(p.statsAfter)) return [];
  return [{
    severity: 'info', code: 'ssl-stats-not-present', object: `proxy ${proxyLabel(p)}`,
    message: `${p.id} has no data-plane ssl.* stats (Istio's default proxyStatsMatcher): traffic counters cannot show TLS; their absence is not plaintext`,
    evidence: [item(p, 'stats', 'ssl.*', p.statsAfter.has('cluster.xds-grpc.ssl.handshake') ? 'only cluster.xds-grpc.ssl.* (control plane, ignored)' : 'none')],
    fix: 'set proxyStatsMatcher inclusionRegexps (e.g. ".*ssl.*", "cluster\\\\.outbound.*", "listener\\\\..*") on the path\'s workloads',
  }];
}

function edgeFindings(ctx: AnalysisContext): Finding[] {
  const out: Finding[] = [];
  const client = ctx.bundle.client;
  if (client && client.peerChain.length > 0 && !client.authorized) {
    out.push({
      severity: 'warning', code: 'client-chain-untrusted', object: `client -> ${client.connectedTo.address}:${client.connectedTo.port}`,
      message: `the certificate the client saw did not verify against the gateway CA${client.authorizationError ? `: ${client.authorizationError}` : ''}`,
      evidence: [item(null, 'client_handshake', 'peer chain', client.peerChain.map((c) => c.subject).join(' <- '))],
      fix: 'serve the gateway credential issued by the CA in the path spec, for the public host name',
    });
  }
  for (const seg of ctx.bundle.path.segments.filter((s) => s.hints.serverSecret && nodeOf(ctx, s.from).kind === 'client')) {
    const cmp = compareCredential(ctx, seg);
    if (cmp.state === 'mismatch') {
      out.push({
        severity: 'error', code: 'tls-terminated-before-gateway', object: `segment ${seg.id}`,
        message: `TLS was terminated before the gateway: ${cmp.reason}`,
        evidence: [item(null, 'client_handshake', 'peer certificate', `${cmp.seen?.subject} sha256 ${cmp.seen?.fingerprint256}`, 'contradicts'),
          item(cmp.proxy ?? null, 'config_dump', `secret ${cmp.secret}`, `sha256 ${cmp.credential?.fingerprint256}`)],
        fix: 'make the load balancer a pure L4 (TCP) pass-through to the gateway\'s 443 port; do not attach a certificate to it',
      });
    }
  }
  return out;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

export function pathFindings(ctx: AnalysisContext): Finding[] {
  const out: Finding[] = [...entryFindings(ctx.bundle), ...edgeFindings(ctx)];
  for (const p of ctx.proxies.values()) {
    out.push(...captureFindings(p), ...notIstioFindings(p), ...permissiveFindings(p), ...plaintextAcceptedFindings(p), ...certificateFindings(p, ctx), ...statsFindings(p));
  }
  out.push(...rootFindings(ctx));
  return out.map((f, i) => ({ f, i })).sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i).map(({ f }) => f);
}
