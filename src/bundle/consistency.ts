import type { EvidenceBundle } from './types.js';

/**
 * Checks of a bundle's own consistency that make it unusable as a whole (the loader refuses it,
 * exit 2): one proxy id or one pod captured twice (the later capture would silently replace the
 * earlier one, e.g. a healthy copy hiding a fault), one request id recorded twice, and a proxy
 * whose expected identity disagrees with what the path's segments expect of it (an edited
 * expectation that nothing else would compare). Pure.
 */
export interface ConsistencyProblem {
  /** Stable name of the failed check, e.g. 'unique-proxy-ids'. */
  check: string;
  /** One line, without raw bundle bytes beyond short ids. */
  message: string;
}

/** A bundle value quoted for a one-line message: JSON-quoted (no control bytes), at most 80 chars. */
export function quote(value: string): string {
  const s = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  // JSON.stringify leaves U+2028/2029 and C1 controls as they are; escape them too.
  return s.replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function consistencyProblems(bundle: EvidenceBundle): ConsistencyProblem[] {
  const out: ConsistencyProblem[] = [];
  const seen = new Set<string>();
  for (const p of bundle.proxies) {
    if (seen.has(p.id)) out.push({ check: 'unique-proxy-ids', message: `proxy id ${quote(p.id)} is captured more than once` });
    seen.add(p.id);
  }
  const pods = new Map<string, string>();
  for (const p of bundle.proxies) {
    const pod = `${p.pod.namespace}/${p.pod.name}`;
    const other = pods.get(pod);
    if (other !== undefined && other !== p.id) {
      out.push({ check: 'unique-captures', message: `pod ${quote(pod)} is captured twice (as proxies ${quote(other)} and ${quote(p.id)})` });
    }
    pods.set(pod, p.id);
  }
  const ids = new Set<string>();
  for (const r of bundle.requests) {
    if (ids.has(r.id)) out.push({ check: 'unique-request-ids', message: `request id ${quote(r.id)} is recorded more than once` });
    ids.add(r.id);
  }
  const proxyOfNode = new Map(bundle.path.nodes.map((n) => [n.id, n.proxy]));
  const expected = new Map(bundle.proxies.map((p) => [p.id, p.expectedIdentity]));
  for (const seg of bundle.path.segments) {
    for (const [end, id] of [['from', seg.hints.clientIdentity], ['to', seg.hints.serverIdentity]] as const) {
      if (!id) continue;
      const proxy = proxyOfNode.get(end === 'from' ? seg.from : seg.to);
      const identity = proxy ? expected.get(proxy) : undefined;
      if (identity && identity !== id) {
        out.push({
          check: 'expected-identity',
          message: `proxy ${quote(proxy as string)} expects identity ${quote(identity)}, but segment ${quote(seg.id)} expects ${quote(id)} of its ${end === 'from' ? 'client' : 'server'}`,
        });
      }
    }
  }
  return out;
}
