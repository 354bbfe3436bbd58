import type { CertificateInfo, ClusterTls, SecretInfo } from '../envoy/types.js';
import type { SegmentSpec } from '../bundle/types.js';
import { chainsTo } from '../envoy/certificate.js';
import type { EvidenceItem, Finding } from './types.js';
import type { AnalysisContext, ProxyFacts } from './proxy-facts.js';
import { proxyLabel } from './proxy-facts.js';
import { chainPem, expiringSoon, leafOf, timeLeft } from './certificate-evidence.js';
import { hasDataPlaneSslStats, inboundPlaintextConnections } from './stats-evidence.js';
import { isWorkloadOf, requestDeltas, seriesSubject } from './telemetry-evidence.js';
import { compareCredential } from './edge-segment.js';
import { nodeOf, proxyOf } from './path-nodes.js';
import { entryFindings } from './entry-findings.js';

/**
 * Problems worth telling that are not a segment verdict: how proxies accept traffic, the state
 * of certificates and roots, what could not be captured, and where TLS really ended.
 */

function item(p: ProxyFacts | null, source: string, subject: string, observed: string, effect: EvidenceItem['effect'] = 'neutral'): EvidenceItem {
  const level = source === 'config_dump' ? 'config' : source === 'prometheus' || source === 'stats' ? 'traffic'
    : source === 'access_log' || source === 'probe' ? 'request' : 'identity';
  return { level, proxy: p?.id ?? 'client', source, subject, observed, effect };
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

/**
 * `/apis/networking.istio.io/v1/namespaces/mesh-verify/destination-rule/bff` (what istiod writes
 * in a cluster's `metadata.filter_metadata.istio.config`) -> `DestinationRule mesh-verify/bff`.
 */
export function istioObjectName(path: string): string | null {
  const m = /^\/apis\/[^/]+\/[^/]+\/namespaces\/([^/]+)\/([a-z0-9-]+)\/([^/]+)$/.exec(path);
  if (!m) return null;
  const kind = m[2].split('-').map((w) => (w ? w[0].toUpperCase() + w.slice(1) : w)).join('');
  return `${kind} ${m[1]}/${m[3]}`;
}

/** A hop expected to be encrypted whose caller's cluster has no TLS transport socket. */
interface PlaintextCluster {
  seg: SegmentSpec;
  from: ProxyFacts;
  to: ProxyFacts | undefined;
  cluster: ClusterTls;
  /** The Istio object that made the cluster (from its metadata), e.g. `DestinationRule ns/name`. */
  object: string | null;
  /** The receiving port when it accepts only mTLS (STRICT, in effect). */
  strictPort: number | null;
}

function plaintextClusters(ctx: AnalysisContext): PlaintextCluster[] {
  const out: PlaintextCluster[] = [];
  for (const seg of ctx.bundle.path.segments) {
    if (seg.expect === 'plaintext' || !seg.hints.cluster) continue;
    const from = proxyOf(ctx, nodeOf(ctx, seg.from));
    const cluster = from?.posture?.clusters.find((c) => c.name === seg.hints.cluster);
    if (!from || !cluster || cluster.upstreamTls !== 'none') continue;
    const to = proxyOf(ctx, nodeOf(ctx, seg.to));
    const port = seg.hints.inboundPort;
    const mode = port === undefined ? undefined : to?.posture?.inbound.find((m) => m.port === port) ?? to?.posture?.inbound.find((m) => m.catchAll);
    out.push({
      seg, from, to, cluster,
      object: cluster.istioConfig ? istioObjectName(cluster.istioConfig) : null,
      strictPort: mode?.mode === 'STRICT' && mode.inEffect && port !== undefined ? port : null,
    });
  }
  return out;
}

function clusterCause(c: PlaintextCluster): string {
  return `${c.from.id}'s cluster ${c.cluster.name} has no TLS transport socket${c.object?.startsWith('DestinationRule ') ? `, made by ${c.object} tls.mode DISABLE` : c.object ? `, made by ${c.object}` : ''}`;
}

function clusterFix(c: PlaintextCluster): string {
  const host = c.cluster.service?.host ?? c.cluster.name;
  return c.object?.startsWith('DestinationRule ')
    ? `set tls.mode ISTIO_MUTUAL in ${c.object} (or delete its tls block so auto mTLS applies): it makes ${c.from.id} send plaintext to ${host}`
    : `find what makes ${c.from.id} send plaintext to ${host} (a DestinationRule with tls.mode DISABLE: kubectl get destinationrules -A) and set tls.mode ISTIO_MUTUAL`;
}

/** Failures this proxy logged for the run's requests: `10 x 503 UC upstream_cluster ...`. */
function loggedFailures(p: ProxyFacts): string[] {
  const counts = new Map<string, number>();
  for (const e of p.access) {
    if (e.responseCode !== null && e.responseCode < 500 && e.responseCode !== 0) continue;
    const flags = e.responseFlags && e.responseFlags !== '-' ? ` ${e.responseFlags}` : '';
    const reason = e.upstreamTransportFailureReason && e.upstreamTransportFailureReason !== '-' ? ` (${e.upstreamTransportFailureReason})` : '';
    const key = `${e.responseCode ?? 'no response code'}${flags}${e.upstreamCluster ? ` upstream_cluster ${e.upstreamCluster}` : ''}${reason}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([k, n]) => `${n} x ${k}`);
}

function outcomeCounts(list: { status: number | null; error: string | null }[]): string {
  const counts = new Map<string, number>();
  for (const r of list) {
    const key = r.status !== null ? `answered HTTP ${r.status}` : `got no answer (${(r.error ?? 'no status').split('\n')[0]})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ');
}

const failedStatus = (r: { status: number | null }): boolean => r.status === null || r.status >= 400;

/** The run's own requests: how many failed, how, and where the proxies logged the failures. */
function requestFindings(ctx: AnalysisContext, causes: PlaintextCluster[]): Finding[] {
  const requests = ctx.bundle.requests;
  const failed = requests.filter(failedStatus);
  if (failed.length === 0) return [];
  const parts = [`${failed.length === requests.length ? 'all' : `${failed.length} of`} ${requests.length} of this run's requests failed: ${outcomeCounts(failed)}`];
  const evidence: EvidenceItem[] = [item(null, 'probe', `requests to ${ctx.bundle.path.host}`, outcomeCounts(failed), 'contradicts')];
  const upstream = failed.flatMap((r) => (r.response?.upstream && failedStatus(r.response.upstream) ? [r.response.upstream] : []));
  if (upstream.length > 0) {
    parts.push(`${ctx.bundle.requests.find((r) => r.response)?.response?.service ?? 'the app'}'s call to ${upstream[0].url}: ${outcomeCounts(upstream)}`);
  }
  const transportFailures: string[] = [];
  for (const p of ctx.proxies.values()) {
    const logged = loggedFailures(p);
    if (logged.length === 0) continue;
    parts.push(`${p.id} logged ${logged.join(', ')}`);
    evidence.push(item(p, 'access_log', 'response_code, response_flags of the run\'s requests', logged.join(', '), 'contradicts'));
    for (const e of p.access) if (e.upstreamTransportFailureReason && e.upstreamTransportFailureReason !== '-') transportFailures.push(`${p.id} to ${e.upstreamCluster ?? '-'}`);
  }
  const refused = causes.find((c) => c.strictPort !== null);
  let fix: string;
  if (refused) {
    fix = `${clusterFix(refused)}; ${refused.to?.id} port ${refused.strictPort} is STRICT and refuses plaintext, so the requests fail`;
  } else if (transportFailures.length > 0) {
    fix = `the upstream TLS handshake failed (${[...new Set(transportFailures)].join(', ')}): see that segment's evidence (--verbose)`;
  } else if (failed.every((r) => r.status === null)) {
    fix = `nothing answered at ${ctx.bundle.path.entry.address}:${ctx.bundle.path.entry.port}: pass the NLB or gateway address with --entry HOST:PORT and check that the gateway is ready`;
  } else {
    fix = 'see which proxy answered the error in the segments\' evidence (--verbose) and the access logs';
  }
  if (causes.length > 0 && !refused) parts.push(clusterCause(causes[0]));
  if (refused) parts.push(`${clusterCause(refused)}, and ${refused.to?.id} port ${refused.strictPort} accepts only mTLS (STRICT)`);
  return [{
    severity: failed.length === requests.length ? 'error' : 'warning', code: 'requests-failed',
    object: `requests to ${ctx.bundle.path.host} via ${ctx.bundle.path.entry.address}:${ctx.bundle.path.entry.port}`,
    message: parts.join('; '), evidence, fix,
  }];
}

/** Every encrypted hop whose caller has a plaintext cluster: the cluster and the object that made it. */
function clusterWithoutTlsFindings(causes: PlaintextCluster[]): Finding[] {
  return causes.map((c) => ({
    severity: 'error' as const, code: 'cluster-without-tls', object: `cluster ${c.cluster.name} on ${c.from.id}`,
    message: `${clusterCause(c)}: ${c.from.id} sends plaintext on ${c.seg.id}${c.strictPort !== null ? `, which ${c.to?.id} port ${c.strictPort} (STRICT) refuses` : ''}`,
    evidence: [
      item(c.from, 'config_dump', `cluster ${c.cluster.name}`, 'no transport_socket and no tlsMode-istio transport_socket_matches', 'contradicts'),
      ...(c.cluster.istioConfig ? [item(c.from, 'config_dump', `cluster ${c.cluster.name}: metadata istio.config`, c.cluster.istioConfig)] : []),
    ],
    fix: clusterFix(c),
  }));
}

function plaintextAcceptedFindings(p: ProxyFacts, causes: PlaintextCluster[]): Finding[] {
  const plain = (requestDeltas(p) ?? []).filter((d) => d.series.reporter === 'destination' && d.series.connectionSecurityPolicy === 'none');
  if (plain.length === 0) return plaintextConnectionFindings(p, causes);
  const total = plain.reduce((n, d) => n + d.delta, 0);
  const sources = [...new Set(plain.map((d) => d.series.sourceWorkload ?? 'unknown'))];
  // A caller of the path whose own cluster has no TLS is not "a caller without a sidecar".
  const fromPath = causes.filter((c) => c.to === p && sources.some((s) => isWorkloadOf(s, c.from)));
  const others = sources.filter((s) => !fromPath.some((c) => isWorkloadOf(s, c.from)));
  const permissive = (p.posture?.inbound ?? []).filter((m) => m.mode !== 'STRICT' && m.inEffect && !m.catchAll).map((m) => m.port);
  const strict = `make ${p.id}${permissive.length > 0 ? ` port ${permissive.join(', ')}` : ''} STRICT (PeerAuthentication mtls.mode STRICT in namespace ${p.capture.pod.namespace})`;
  const fixes = [
    ...fromPath.map(clusterFix),
    ...(others.length > 0 ? [`give ${others.map((s) => `source_workload=${s}`).join(', ')} a sidecar (it sent plaintext), then ${strict}`] : [`then ${strict}`]),
  ];
  return [{
    severity: 'error', code: 'plaintext-accepted', object: `pod ${p.capture.pod.namespace}/${p.capture.pod.name}`,
    message: `${p.id} accepted ${total} plaintext request(s) during the run from ${sources.map((s) => `source_workload=${s}`).join(', ')}${fromPath.length > 0 ? ` (${fromPath.map(clusterCause).join('; ')})` : ''}`,
    evidence: plain.map((d) => item(p, 'prometheus', seriesSubject(d.series), `+${d.delta}`, 'contradicts')),
    fix: fixes.join('; '),
  }];
}

/**
 * Without Istio telemetry (upstream Envoy, or istio.stats off): the plaintext connections each
 * PERMISSIVE inbound port's HTTP connection manager accepted during the run (its own counters).
 * When the counters show none (the caller reused a connection opened before the run, or the stats
 * matcher drops them), this run's own requests that the port's access log shows arriving without
 * TLS (downstream_tls_version "-") are the evidence instead.
 */
function plaintextConnectionFindings(p: ProxyFacts, causes: PlaintextCluster[]): Finding[] {
  const permissive = (p.posture?.inbound ?? []).filter((m) => m.mode !== 'STRICT' && m.inEffect && !m.catchAll);
  const accepted = permissive.flatMap((m) => {
    const r = inboundPlaintextConnections(p, m.port);
    if (r && r.count > 0) return [{ port: m.port, count: r.count, what: 'connection(s)', evidence: item(p, 'stats', r.subject, `${r.observed} = ${r.count}`, 'contradicts') }];
    const plain = plaintextRunRequests(p, m.port);
    return plain > 0
      ? [{ port: m.port, count: plain, what: 'request(s)', evidence: item(p, 'access_log', `entries with upstream_cluster inbound|${m.port}|*: downstream_tls_version`, `- (no TLS) (${plain} of this run's requests)`, 'contradicts') }]
      : [];
  });
  if (accepted.length === 0) return [];
  const fromPath = causes.filter((c) => c.to === p);
  const strict = `make ${p.id} port ${accepted.map((a) => a.port).join(', ')} STRICT (PeerAuthentication mtls.mode STRICT in namespace ${p.capture.pod.namespace})`;
  const sum = (what: string) => accepted.filter((a) => a.what === what).reduce((n, a) => n + a.count, 0);
  const counted = [
    ...(sum('connection(s)') > 0 ? [`${sum('connection(s)')} plaintext connection(s)`] : []),
    ...(sum('request(s)') > 0 ? [`${sum('request(s)')} of this run's request(s) in plaintext`] : []),
  ];
  const onlyCounters = accepted.every((a) => a.what === 'connection(s)');
  return [{
    severity: 'error', code: 'plaintext-accepted', object: `pod ${p.capture.pod.namespace}/${p.capture.pod.name}`,
    message: `${p.id} accepted ${counted.join(' and ')} on port ${accepted.map((a) => a.port).join(', ')} during the run${fromPath.length > 0 ? ` (${fromPath.map(clusterCause).join('; ')})` : onlyCounters ? ' from a caller without a sidecar (its counters cannot name it; its access log can)' : ''}`,
    evidence: accepted.map((a) => a.evidence),
    fix: [...fromPath.map(clusterFix), fromPath.length > 0 ? `then ${strict}` : `give that caller a sidecar, then ${strict}`].join('; '),
  }];
}

/** This run's requests the proxy logged on its inbound cluster for `port` with no downstream TLS. */
function plaintextRunRequests(p: ProxyFacts, port: number): number {
  const ids = new Set(p.access
    .filter((e) => (e.upstreamCluster ?? '').startsWith(`inbound|${port}|`) && !e.downstreamTlsVersion)
    .map((e) => e.runRequestId));
  return ids.size;
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

/**
 * Workload certificates must all chain to one root. Each certificate's chain is verified against
 * every root the proxies trust, one root at a time; the mesh root is the one most proxies trust
 * (then: most certificates chain to). Only certificates that do not chain to it are blamed: one
 * proxy with another mesh's certificate and ROOTCA must not make every peer's certificate
 * "foreign" because it does not chain to that proxy's ROOTCA.
 */
function rootFindings(ctx: AnalysisContext): Finding[] {
  const proxies = [...ctx.proxies.values()].filter((p) => p.workloadCert && p.roots.length > 0);
  const out: Finding[] = [];
  const roots = new Map<string, { root: CertificateInfo; trustedBy: ProxyFacts[]; issued: ProxyFacts[] }>();
  for (const p of proxies) {
    for (const r of p.roots) {
      const entry = roots.get(r.fingerprint256) ?? { root: r, trustedBy: [], issued: [] };
      if (!entry.trustedBy.includes(p)) entry.trustedBy.push(p);
      roots.set(r.fingerprint256, entry);
    }
  }
  const anchors = new Map<ProxyFacts, CertificateInfo[]>();
  for (const p of proxies) {
    const pem = chainPem(p.workloadCert as SecretInfo);
    const to = [...roots.values()].filter((e) => chainsTo(pem, [e.root.pem]));
    for (const e of to) e.issued.push(p);
    anchors.set(p, to.map((e) => e.root));
  }
  const ranked = [...roots.values()].sort((a, b) => b.trustedBy.length - a.trustedBy.length || b.issued.length - a.issued.length);
  const tie = ranked.length > 1 && ranked[0].trustedBy.length === ranked[1].trustedBy.length && ranked[0].issued.length === ranked[1].issued.length;
  const mesh = ranked.length > 0 && !tie ? ranked[0] : null;
  for (const p of proxies) {
    const secret = p.workloadCert as SecretInfo;
    const leaf = leafOf(secret);
    const own = anchors.get(p) ?? [];
    const anchored = own.length > 0 ? `chains to ${own.map((r) => r.subject).join(' | ')}` : 'chains to none of the roots the proxies trust';
    if (mesh) {
      if (own.includes(mesh.root)) continue;
      out.push({
        severity: 'error', code: 'cert-foreign-root', object: `secret default on ${p.id}`,
        message: `the workload certificate of ${p.id} (issuer ${leaf?.issuer ?? '-'}) ${anchored}, not to the mesh root ${mesh.root.subject} that ${mesh.trustedBy.map((q) => q.id).join(', ')} trust`,
        evidence: [
          item(p, 'config_dump', 'secret default: issuer', leaf?.issuer ?? '-', 'contradicts'),
          ...mesh.trustedBy.map((q) => item(q, 'config_dump', 'secret ROOTCA', q.roots.map((r) => r.subject).join(' | '))),
        ],
        fix: 'issue workload certificates from the mesh CA (check istiod / cacerts and the proxy\'s CA address)',
      });
      continue;
    }
    // No root is the mesh's by majority: name each peer whose ROOTCA this certificate fails.
    const failed = proxies.filter((q) => !q.roots.some((r) => own.includes(r)));
    if (failed.length > 0) {
      out.push({
        severity: 'error', code: 'cert-foreign-root', object: `secret default on ${p.id}`,
        message: `the workload certificate of ${p.id} (issuer ${leaf?.issuer ?? '-'}) ${anchored}, not to the ROOTCA of ${failed.map((q) => q.id).join(', ')}`,
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
  const causes = plaintextClusters(ctx);
  const out: Finding[] = [...entryFindings(ctx.bundle), ...edgeFindings(ctx), ...requestFindings(ctx, causes), ...clusterWithoutTlsFindings(causes)];
  for (const p of ctx.proxies.values()) {
    out.push(...captureFindings(p), ...notIstioFindings(p), ...permissiveFindings(p), ...plaintextAcceptedFindings(p, causes), ...certificateFindings(p, ctx), ...statsFindings(p));
  }
  out.push(...rootFindings(ctx));
  return out.map((f, i) => ({ f, i })).sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i).map(({ f }) => f);
}
