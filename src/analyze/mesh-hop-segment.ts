import type { Protection, SegmentSpec } from '../bundle/types.js';
import type { ClusterTls } from '../envoy/types.js';
import { sanMatches } from '../envoy/san-match.js';
import { parseXfcc } from '../envoy/xfcc.js';
import type { Observation } from './observation.js';
import type { AnalysisContext, ProxyFacts } from './proxy-facts.js';
import { appBehind, echoesOf, nodeOf } from './path-nodes.js';
import { VIRTUAL_INBOUND_STATS, clusterNewConnections, inboundListenerTraffic, inboundPlaintextConnections, upstreamClusterTraffic } from './stats-evidence.js';
import { accessLogEvidence, mergeReadings, readDownstream, readPeerIdentity, readUpstream, type EntryReading } from './access-log-evidence.js';
import { isWorkloadOf, requestDeltas, seriesSubject } from './telemetry-evidence.js';
import { workloadCertChecks } from './certificate-evidence.js';

const XFCC = 'x-forwarded-client-cert';

function clusterProtection(c: ClusterTls): { indicates: Protection | null; observed: string; note?: string } {
  switch (c.upstreamTls) {
    case 'mtls': return { indicates: 'mtls', observed: 'UpstreamTlsContext with a client certificate (mTLS)' };
    case 'tls': return { indicates: 'tls', observed: 'UpstreamTlsContext without a client certificate (TLS, not mutual)' };
    case 'none': return { indicates: 'plaintext', observed: 'no TLS transport socket (plaintext; e.g. DestinationRule tls.mode DISABLE)' };
    default: {
      const eps = (c.endpoints ?? []).map((e) => `${e.address}:${e.port ?? '-'} tlsMode=${e.tlsMode ?? '-'}`).join(', ');
      if (c.endpointTls === 'mtls') return { indicates: 'mtls', observed: `auto mTLS; every endpoint has tlsMode=istio (${eps})` };
      if (c.endpointTls === 'none') return { indicates: 'plaintext', observed: `auto mTLS, but no endpoint has tlsMode=istio: tlsMode-disabled (raw_buffer) is used (${eps})` };
      if (c.endpointTls === 'mixed') return { indicates: 'plaintext', observed: `auto mTLS; some endpoints lack tlsMode=istio and get plaintext (${eps})` };
      return { indicates: null, observed: 'auto mTLS (transport_socket_matches); the endpoints are not in the dump', note: 'which socket is used depends on EDS endpoint metadata tlsMode; capture the dump with include_eds' };
    }
  }
}

function fromConfig(p: ProxyFacts, seg: SegmentSpec): { obs: Observation[]; cluster: ClusterTls | undefined } {
  const name = seg.hints.cluster;
  const base = { level: 'config' as const, proxy: p.id, source: 'config_dump' };
  if (!p.posture || !name) return { obs: [], cluster: undefined };
  const cluster = p.posture.clusters.find((c) => c.name === name);
  if (!cluster) return { obs: [{ ...base, subject: `cluster ${name}`, observed: 'not in the config dump', indicates: null, headline: `cluster ${name} not found on ${p.id}` }], cluster };
  const prot = clusterProtection(cluster);
  const obs: Observation[] = [{
    ...base, subject: `cluster ${name}`, observed: prot.observed, indicates: prot.indicates,
    ...(prot.note ? { note: prot.note } : {}),
    ...(prot.indicates && prot.indicates !== seg.expect ? { headline: `${p.id}'s cluster ${name}: ${prot.observed}` } : {}),
  }];
  const server = seg.hints.serverIdentity;
  const matchers = cluster.sanMatchers ?? cluster.sans.map((value) => ({ sanType: null, kind: 'exact' as const, value }));
  if (server && cluster.upstreamTls !== 'none' && matchers.length > 0) {
    const ok = sanMatches(matchers, server);
    obs.push({
      level: 'identity', proxy: p.id, source: 'config_dump', subject: `cluster ${name}: match_subject_alt_names`,
      observed: cluster.sans.join(', '), expected: server, effect: ok ? 'supports' : 'contradicts',
      ...(ok ? {} : { headline: `${p.id} would not accept ${server} as the server of ${name}` }),
    });
  }
  return { obs, cluster };
}

function toConfig(p: ProxyFacts, seg: SegmentSpec): Observation[] {
  const port = seg.hints.inboundPort;
  if (!p.posture || port === undefined) return [];
  const base = { level: 'config' as const, proxy: p.id, source: 'config_dump' };
  const mode = p.posture.inbound.find((m) => m.port === port) ?? p.posture.inbound.find((m) => m.catchAll);
  if (!mode) return [{ ...base, subject: `virtualInbound port ${port}`, observed: 'no inbound filter chain for this port', indicates: null }];
  const subject = `${mode.listener} port ${mode.port === 0 ? `${port} (catch-all chains)` : port}`;
  if (!mode.inEffect) return [{ ...base, subject, observed: `${mode.mode}, not in effect (listener not active)`, indicates: null }];
  if (mode.mode === 'STRICT') return [{ ...base, subject, observed: 'STRICT (mTLS chains only)', indicates: 'mtls' }];
  if (mode.mode === 'PLAINTEXT') return [{ ...base, subject, observed: 'PLAINTEXT (no mTLS chain)', indicates: 'plaintext', headline: `${p.id} port ${port} accepts no mTLS` }];
  return [{
    ...base, subject, observed: 'PERMISSIVE (mTLS and plaintext chains)', indicates: null,
    note: 'PERMISSIVE accepts plaintext too: the mode alone proves nothing about this hop',
    caveat: `${p.id} port ${port} is PERMISSIVE`,
  }];
}

/** istio_requests_total on the receiving proxy (reporter=destination). */
function destinationTelemetry(to: ProxyFacts, from: ProxyFacts | undefined, seg: SegmentSpec): Observation[] {
  const deltas = requestDeltas(to);
  const base = { level: 'traffic' as const, proxy: to.id, source: 'prometheus' };
  if (!deltas) return [{ ...base, subject: 'istio_requests_total', observed: 'not scraped', indicates: null }];
  const client = seg.hints.clientIdentity;
  const out: Observation[] = [];
  for (const d of deltas.filter((x) => x.series.reporter === 'destination')) {
    const s = d.series;
    const count = `+${d.delta}${d.cumulative ? ' (cumulative: no before scrape)' : ''}`;
    if (s.connectionSecurityPolicy === 'mutual_tls') {
      const ours = client ? s.sourcePrincipal === client : isWorkloadOf(s.sourceWorkload, from);
      out.push({ ...base, subject: seriesSubject(s), observed: count, indicates: ours ? 'mtls' : null, ...(ours ? {} : { note: 'another caller' }) });
      if (ours && client) out.push({ level: 'identity', proxy: to.id, source: 'prometheus', subject: `${seriesSubject(s)} source_principal`, observed: s.sourcePrincipal ?? '-', expected: client, effect: 'supports' });
    } else if (s.connectionSecurityPolicy === 'none') {
      const ours = isWorkloadOf(s.sourceWorkload, from);
      out.push(ours
        ? { ...base, subject: seriesSubject(s), observed: count, indicates: 'plaintext', headline: `${to.id} received ${d.delta} plaintext request(s) from ${s.sourceWorkload}` }
        : {
          ...base, subject: seriesSubject(s), observed: count, indicates: 'plaintext', effect: 'contradicts', otherCaller: true,
          note: `another caller (source_workload=${s.sourceWorkload ?? 'unknown'}): this run's requests may have used mTLS, but the receiving port accepted plaintext during the run`,
          headline: `the receiver ${to.id} also accepted ${d.delta} plaintext request(s) from source_workload=${s.sourceWorkload ?? 'unknown'} during the run`,
        });
    }
  }
  return out;
}

/**
 * Plaintext connections the receiving port accepted during the run (upstream Envoy's HCM
 * counters). When the caller's own cluster uses TLS they came from another caller; the hop is
 * still contradicted, as with istio_requests_total: the port accepted plaintext during the run.
 */
function inboundPlaintextTraffic(to: ProxyFacts, port: number | null, callerCluster: ClusterTls | undefined): Observation[] {
  if (port === null) return [];
  const r = inboundPlaintextConnections(to, port);
  if (!r || r.count === 0) return [];
  const others = callerCluster !== undefined && callerCluster.upstreamTls !== 'none';
  const base = { level: 'traffic' as const, proxy: to.id, source: 'stats', subject: r.subject, observed: `${r.observed} = ${r.count} plaintext connection(s)`, indicates: 'plaintext' as const };
  return [others
    ? { ...base, effect: 'contradicts', otherCaller: true,
      note: 'another caller: this run\'s requests used mTLS, but the receiving port accepted plaintext during the run',
      headline: `the receiver ${to.id} also accepted ${r.count} plaintext connection(s) on port ${port} during the run` }
    : { ...base, headline: `${to.id} accepted ${r.count} plaintext connection(s) on port ${port}` }];
}

/** istio_requests_total on the calling proxy (reporter=source) towards the hop's service. */
function sourceTelemetry(from: ProxyFacts, cluster: ClusterTls | undefined, seg: SegmentSpec): Observation[] {
  const deltas = requestDeltas(from);
  const host = cluster?.service?.host ?? seg.hints.cluster?.split('|')[3];
  if (!deltas || !host) return [];
  const server = seg.hints.serverIdentity;
  const out: Observation[] = [];
  for (const d of deltas.filter((x) => x.series.reporter === 'source' && x.series.destinationService === host)) {
    const s = d.series;
    const base = { proxy: from.id, source: 'prometheus', subject: `${seriesSubject(s)} destination_principal`, observed: `${s.destinationPrincipal ?? '-'} (+${d.delta})` };
    const failed = (s.responseFlags ?? '').split(',').some((f) => f === 'UF' || f === 'URX');
    if (s.destinationPrincipal && s.destinationPrincipal !== 'unknown') {
      const ok = !server || s.destinationPrincipal === server;
      out.push({ ...base, level: 'identity', expected: server, effect: ok ? 'supports' : 'contradicts', ...(ok ? {} : { headline: `${from.id} reached ${s.destinationPrincipal}, not ${server}` }) });
    } else if (!failed) {
      out.push({ ...base, level: 'traffic', indicates: 'plaintext', note: 'no peer identity: the upstream connection carried no mTLS', headline: `${from.id} reached ${host} without a peer identity` });
    }
  }
  return out;
}

function xfccEvidence(ctx: AnalysisContext, seg: SegmentSpec, to: ProxyFacts, from: ProxyFacts | undefined): Observation[] {
  const app = appBehind(ctx, to.id);
  if (!app) return [];
  const echoes = echoesOf(ctx, app);
  const selection = `${XFCC} seen by app ${app.id}`;
  if (echoes.length === 0) return [{ level: 'request', proxy: to.id, source: 'xfcc', subject: selection, observed: 'no answer of the app recorded', indicates: null }];
  const callerFp = from?.workloadCert?.chain[0]?.fingerprint256 ?? null;
  const readings = echoes.flatMap((e): { id: string; reading: EntryReading }[] => {
    const id = e.runRequestId;
    const header = Object.entries(e.headers).find(([k]) => k.toLowerCase() === XFCC)?.[1];
    if (!header) {
      return [{ id, reading: { subject: 'header', observed: 'absent', indicates: null, note: 'the sidecar sets it only for mTLS connections: consistent with plaintext, but not proof' } }];
    }
    const last = parseXfcc(header).at(-1);
    if (!last) return [{ id, reading: { subject: 'header', observed: `unparsable: ${header}`, indicates: null } }];
    const out: { id: string; reading: EntryReading }[] = [{ id, reading: { subject: 'element added by the receiving sidecar', observed: `By=${last.by ?? '-'}; URI=${last.uri.join(',') || '-'}`, indicates: 'mtls' } }];
    if (seg.hints.clientIdentity) {
      const ok = last.uri.includes(seg.hints.clientIdentity);
      out.push({ id, reading: { level: 'identity', subject: 'URI', observed: last.uri.join(',') || '-', expected: seg.hints.clientIdentity, effect: ok ? 'supports' : 'contradicts', ...(ok ? {} : { headline: `XFCC URI ${last.uri.join(',')} is not ${seg.hints.clientIdentity}` }) } });
    }
    if (callerFp && last.hash) {
      const ok = last.hash === callerFp;
      out.push({ id, reading: {
        level: 'identity', subject: `Hash vs SHA-256 of ${from?.id}'s certificate (secret default)`, observed: last.hash, expected: callerFp,
        effect: ok ? 'supports' : 'contradicts', ...(ok ? {} : { headline: `XFCC Hash is not the SHA-256 of ${from?.id}'s workload certificate` }),
      } });
    }
    return out;
  });
  return mergeReadings({ proxy: to.id, source: 'xfcc', selection }, readings);
}

/**
 * Evidence for a hop between two proxies (gateway -> sidecar, sidecar -> sidecar), expected mTLS:
 * the caller's cluster and the receiver's inbound mode (config), counters and istio_requests_total
 * (traffic), both access logs and the XFCC the receiving app saw (request), and the certificates
 * and peer identities on both sides (identity).
 */
export function meshHopObservations(ctx: AnalysisContext, seg: SegmentSpec): Observation[] {
  const fromNode = nodeOf(ctx, seg.from);
  const toNode = nodeOf(ctx, seg.to);
  const from = fromNode.proxy ? ctx.proxies.get(fromNode.proxy) : undefined;
  const toFacts = toNode.proxy ? ctx.proxies.get(toNode.proxy) : undefined;
  const to = toFacts && (toFacts.capture.reachable || toFacts.posture) ? toFacts : undefined;
  const out: Observation[] = [];
  for (const [node, p] of [[fromNode, from], [toNode, to]] as const) {
    if (!p) {
      const why = node.proxy && ctx.proxies.get(node.proxy)?.capture.errors.map((e) => e.message).join('; ');
      out.push({ level: 'config', proxy: node.proxy, source: 'capture', subject: `proxy ${node.proxy ?? node.id}`, observed: why || 'not captured', indicates: null, headline: `proxy ${node.proxy ?? node.id} was not captured${why ? ` (${why})` : ''}` });
    }
  }
  let cluster: ClusterTls | undefined;
  if (from) {
    const cfg = fromConfig(from, seg);
    cluster = cfg.cluster;
    out.push(...cfg.obs);
  }
  if (to) out.push(...toConfig(to, seg));
  if (from && seg.hints.cluster) {
    out.push(...upstreamClusterTraffic(from, seg.hints.cluster, cluster && cluster.upstreamTls !== 'tls' ? 'mtls' : 'tls'));
    out.push(...sourceTelemetry(from, cluster, seg));
  }
  if (to && to.capture.role === 'sidecar') {
    const callerCx = from && seg.hints.cluster ? clusterNewConnections(from, seg.hints.cluster) : null;
    out.push(...inboundListenerTraffic(to, VIRTUAL_INBOUND_STATS, callerCx));
  }
  if (to) out.push(...destinationTelemetry(to, from, seg));
  if (to && to.capture.role === 'sidecar') out.push(...inboundPlaintextTraffic(to, seg.hints.inboundPort ?? null, cluster));
  if (from && seg.hints.cluster) {
    const entries = from.access.filter((e) => e.upstreamCluster === seg.hints.cluster);
    const readers = [readUpstream, ...(seg.hints.serverIdentity ? [readPeerIdentity('upstream_peer_uri_san', seg.hints.serverIdentity)] : [])];
    out.push(...accessLogEvidence(from, entries, `entries with upstream_cluster ${seg.hints.cluster}`, ...readers));
  }
  if (to) {
    const prefix = seg.hints.inboundPort === undefined ? 'inbound|' : `inbound|${seg.hints.inboundPort}|`;
    const entries = to.access.filter((e) => e.upstreamCluster?.startsWith(prefix));
    const callerFp = from?.workloadCert?.chain[0]?.fingerprint256;
    const readers = [
      readDownstream,
      ...(seg.hints.clientIdentity ? [readPeerIdentity('downstream_peer_uri_san', seg.hints.clientIdentity)] : []),
      ...(callerFp ? [(e: { downstreamPeerCertSha256: string | null }): EntryReading | null => e.downstreamPeerCertSha256 ? {
        level: 'identity', subject: `downstream_peer_cert_sha256 vs ${from?.id}'s certificate`, observed: e.downstreamPeerCertSha256.toLowerCase(), expected: callerFp,
        effect: e.downstreamPeerCertSha256.toLowerCase() === callerFp ? 'supports' : 'contradicts',
      } : null] : []),
    ];
    out.push(...accessLogEvidence(to, entries, `entries with upstream_cluster ${prefix}*`, ...readers));
    out.push(...xfccEvidence(ctx, seg, to, from));
  }
  if (to) out.push(...workloadCertChecks(to, seg.hints.serverIdentity, from, 'server', ctx.now));
  if (from) out.push(...workloadCertChecks(from, seg.hints.clientIdentity, to, 'client', ctx.now));
  return out;
}
