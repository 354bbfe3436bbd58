import type { PeerAuthMode, PeerAuthenticationFacts, PodFacts } from './types.js';

/** The PeerAuthentication mode that applies to one workload port, and where it came from. */
export interface EffectiveMode {
  mode: PeerAuthMode;
  /** 'mesh default (no PeerAuthentication)', 'PeerAuthentication ns/name', '... port 8080'. */
  source: string;
}

/**
 * Istio's precedence: port-level (workload policies only) > workload (selector) > namespace >
 * mesh (root namespace, no selector) > PERMISSIVE. UNSET inherits from the level above. When
 * several policies sit at one level the oldest wins (as istiod does).
 */
export function effectivePeerAuthentication(pod: Pick<PodFacts, 'namespace' | 'labels'>, port: number,
  policies: readonly PeerAuthenticationFacts[], rootNamespace: string): EffectiveMode {
  let result: EffectiveMode = { mode: 'PERMISSIVE', source: 'mesh default (no PeerAuthentication)' };
  const mesh = oldest(policies.filter((p) => p.namespace === rootNamespace && p.selector === null));
  const ns = pod.namespace === rootNamespace ? null
    : oldest(policies.filter((p) => p.namespace === pod.namespace && p.selector === null));
  const workload = oldest(policies.filter((p) => p.namespace === pod.namespace && p.selector !== null
    && selects(p.selector, pod.labels)));
  for (const p of [mesh, ns, workload]) {
    if (p?.mode) result = { mode: p.mode, source: `PeerAuthentication ${p.namespace}/${p.name}` };
  }
  const portMode = workload?.portLevel[port];
  if (workload && portMode) result = { mode: portMode, source: `PeerAuthentication ${workload.namespace}/${workload.name} port ${port}` };
  return result;
}

/** Label selector match; an empty selector selects nothing here (Istio treats it as namespace-wide, mapped to null upstream). */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

function oldest(list: PeerAuthenticationFacts[]): PeerAuthenticationFacts | null {
  if (list.length === 0) return null;
  return [...list].sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.name.localeCompare(b.name))[0];
}

/** The proxy inbound mode a policy mode should produce. */
export function expectedInbound(mode: PeerAuthMode): 'STRICT' | 'PERMISSIVE' | 'PLAINTEXT' {
  return mode === 'DISABLE' ? 'PLAINTEXT' : mode;
}
