import type { PathNode, SegmentSpec } from '../bundle/types.js';
import type { AnalysisContext, ProxyFacts, RunEcho } from './proxy-facts.js';

/** Lookups over the bundle's path: nodes by id, the proxy behind a node, an app's answers. */
export function nodeOf(ctx: AnalysisContext, id: string): PathNode {
  const node = ctx.bundle.path.nodes.find((n) => n.id === id);
  // The schema does not tie segment ends to node ids; an unknown id is treated as a bare hop.
  return node ?? { id, kind: 'app', label: id, proxy: null };
}

export function proxyOf(ctx: AnalysisContext, node: PathNode): ProxyFacts | undefined {
  return node.proxy ? ctx.proxies.get(node.proxy) : undefined;
}

/** The first proxy at or after `nodeId` in path order: who terminates TLS that enters there. */
export function terminatingProxy(ctx: AnalysisContext, nodeId: string): ProxyFacts | undefined {
  const nodes = ctx.bundle.path.nodes;
  const start = nodes.findIndex((n) => n.id === nodeId);
  for (const n of nodes.slice(Math.max(start, 0))) {
    if (n.proxy) return ctx.proxies.get(n.proxy);
  }
  return undefined;
}

/** The app node served by a proxy (kind 'app', same proxy). */
export function appBehind(ctx: AnalysisContext, proxyId: string | null): PathNode | undefined {
  return proxyId ? ctx.bundle.path.nodes.find((n) => n.kind === 'app' && n.proxy === proxyId) : undefined;
}

/** This run's answers from an app node (matched by the app's `service` name = node id or proxy id). */
export function echoesOf(ctx: AnalysisContext, node: PathNode): RunEcho[] {
  return ctx.echoes.filter((e) => e.service === node.id || e.service === node.proxy);
}

export function isProxyNode(node: PathNode): boolean {
  return node.kind === 'gateway' || node.kind === 'sidecar';
}

export function segmentKind(from: PathNode, to: PathNode, seg: SegmentSpec): 'edge' | 'loopback-in' | 'loopback-out' | 'mesh-hop' | 'other' {
  if (from.kind === 'client' || from.kind === 'nlb' || seg.hints.listener) return 'edge';
  if (to.kind === 'app' && from.proxy !== null) return 'loopback-in';
  if (from.kind === 'app' && to.proxy !== null) return 'loopback-out';
  if (isProxyNode(from) && isProxyNode(to)) return 'mesh-hop';
  return 'other';
}
