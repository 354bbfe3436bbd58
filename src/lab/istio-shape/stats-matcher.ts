/**
 * Envoy's stats_matcher as Istio's bootstrap writes it. Istio's default inclusion list (as in
 * a real 1.22 sidecar bootstrap) keeps only server/manager stats, the control-plane cluster and
 * Istio's own metrics: no per-listener or per-data-plane-cluster ssl.* or connection counters.
 * A proxyStatsMatcher (meshConfig.defaultConfig or the proxy.istio.io/config annotation) adds
 * patterns; the lab's `includeSslStats` stands for one that adds the ssl and traffic counters.
 */
export type StatsPattern = { prefix: string } | { suffix: string } | { safe_regex: { regex: string } };

export const ISTIO_DEFAULT_INCLUSION: StatsPattern[] = [
  { prefix: 'reporter=' },
  { prefix: 'cluster_manager' },
  { prefix: 'listener_manager' },
  { prefix: 'server' },
  { prefix: 'cluster.xds-grpc' },
  { prefix: 'wasm' },
  { suffix: 'rbac.allowed' },
  { suffix: 'rbac.denied' },
  { suffix: 'shadow_allowed' },
  { suffix: 'shadow_denied' },
  { safe_regex: { regex: 'vhost\\.*\\.route\\.*' } },
  { prefix: 'component' },
  { prefix: 'istio' },
];

/** proxyStatsMatcher.inclusionRegexps the lab adds when told to include ssl and traffic stats. */
export const LAB_SSL_INCLUSION: StatsPattern[] = [
  { safe_regex: { regex: '.*ssl.*' } },
  { safe_regex: { regex: '.*(downstream|upstream)_(cx|rq)_.*' } },
];

export function inclusionPatterns(includeSslStats: boolean): StatsPattern[] {
  return includeSslStats ? [...ISTIO_DEFAULT_INCLUSION, ...LAB_SSL_INCLUSION] : ISTIO_DEFAULT_INCLUSION;
}

/** A predicate for stat names: the stat exists only when a pattern matches (Envoy never creates it otherwise). */
export function statsMatcher(patterns: StatsPattern[]): (name: string) => boolean {
  const tests = patterns.map((p): ((n: string) => boolean) => {
    if ('prefix' in p) return (n) => n.startsWith(p.prefix);
    if ('suffix' in p) return (n) => n.endsWith(p.suffix);
    // RE2 safe_regex matches the full name.
    const re = new RegExp(`^(?:${p.safe_regex.regex})$`);
    return (n) => re.test(n);
  });
  return (name) => tests.some((t) => t(name));
}
