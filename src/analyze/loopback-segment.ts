import type { SegmentSpec } from '../bundle/types.js';
import type { Observation } from './observation.js';
import type { AnalysisContext, ProxyFacts } from './proxy-facts.js';
import { echoesOf, nodeOf } from './path-nodes.js';
import { upstreamClusterTraffic } from './stats-evidence.js';
import { accessLogEvidence, mergeReadings, readDownstream, readUpstream } from './access-log-evidence.js';

/** A sidecar that was not captured cannot vouch for its loopback hop: say why and stop. */
function missingProxy(ctx: AnalysisContext, proxyId: string | null): Observation | null {
  const p = proxyId ? ctx.proxies.get(proxyId) : undefined;
  if (p && (p.capture.reachable || p.posture)) return null;
  const why = p ? (p.capture.errors.map((e) => e.message).join('; ') || 'not reachable') : 'not in the bundle';
  return {
    level: 'config', proxy: proxyId, source: 'capture', subject: `proxy ${proxyId ?? '(none)'}`, observed: why, indicates: null,
    headline: `proxy ${proxyId ?? '(none)'} was not captured (${why})`,
  };
}

/** sidecar -> app: the inbound cluster hands the request to the app over the pod's loopback. */
function inboundDelivery(ctx: AnalysisContext, seg: SegmentSpec, p: ProxyFacts): Observation[] {
  const out: Observation[] = [];
  const port = seg.hints.inboundPort;
  const to = nodeOf(ctx, seg.to);
  const prefix = port === undefined ? 'inbound|' : `inbound|${port}|`;
  const cluster = p.posture?.clusters.find((c) => c.name.startsWith(prefix));
  if (p.posture) {
    out.push(cluster
      ? { level: 'config', proxy: p.id, source: 'config_dump', subject: `cluster ${cluster.name}`, observed: `upstream TLS ${cluster.upstreamTls}`, indicates: cluster.upstreamTls === 'none' ? 'plaintext' : 'tls' }
      : { level: 'config', proxy: p.id, source: 'config_dump', subject: `cluster ${prefix}*`, observed: 'not in the config dump', indicates: null });
  }
  if (cluster) out.push(...upstreamClusterTraffic(p, cluster.name, 'tls'));
  const entries = p.access.filter((e) => e.upstreamCluster?.startsWith(prefix));
  out.push(...accessLogEvidence(p, entries, `entries with upstream_cluster ${prefix}*`, readUpstream));
  const echoes = echoesOf(ctx, to);
  if (echoes.length > 0) {
    out.push(...mergeReadings({ proxy: null, source: 'app_echo', selection: `answer of app ${to.id}` }, echoes.map((e) => ({
      id: e.runRequestId,
      reading: { subject: 'x-request-id', observed: 'the app parsed the HTTP request itself (it arrived in cleartext)', indicates: 'plaintext' as const },
    }))));
  } else {
    out.push({ level: 'request', proxy: null, source: 'app_echo', subject: `answer of app ${to.id}`, observed: 'not recorded for this run\'s requests', indicates: null, headline: `no answer of app ${to.id} recorded` });
  }
  return out;
}

/** app -> sidecar: the app calls its upstream over plain HTTP; iptables hands it to the sidecar. */
function outboundCapture(ctx: AnalysisContext, seg: SegmentSpec, p: ProxyFacts): Observation[] {
  const out: Observation[] = [];
  const from = nodeOf(ctx, seg.from);
  const calls = echoesOf(ctx, from).filter((e) => e.upstream);
  if (calls.length > 0) {
    out.push(...mergeReadings({ proxy: null, source: 'app_echo', selection: `upstream call of app ${from.id}` }, calls.map((e) => {
      const url = e.upstream?.url ?? '';
      const scheme = url.split(':')[0];
      return {
        id: e.runRequestId,
        reading: { subject: 'upstream.url', observed: `${scheme}:// (${url})`, indicates: scheme === 'https' ? 'tls' as const : scheme === 'http' ? 'plaintext' as const : null },
      };
    })));
  } else {
    out.push({ level: 'request', proxy: null, source: 'app_echo', subject: `upstream call of app ${from.id}`, observed: 'not recorded for this run\'s requests', indicates: null, headline: `no upstream call of app ${from.id} recorded` });
  }
  const cluster = seg.hints.cluster;
  const entries = p.access.filter((e) => (cluster ? e.upstreamCluster === cluster : !e.upstreamCluster?.startsWith('inbound|')));
  out.push(...accessLogEvidence(p, entries, `entries with upstream_cluster ${cluster ?? '(outbound)'}`, readDownstream));
  return out;
}

/** Evidence for a hop on a pod's loopback between a sidecar and its app (expected plaintext). */
export function loopbackObservations(ctx: AnalysisContext, seg: SegmentSpec): Observation[] {
  const from = nodeOf(ctx, seg.from);
  const to = nodeOf(ctx, seg.to);
  const inbound = to.kind === 'app';
  const proxyId = inbound ? from.proxy ?? to.proxy : to.proxy;
  const missing = missingProxy(ctx, proxyId);
  if (missing) return [missing];
  const p = ctx.proxies.get(proxyId ?? '') as ProxyFacts;
  return inbound ? inboundDelivery(ctx, seg, p) : outboundCapture(ctx, seg, p);
}
