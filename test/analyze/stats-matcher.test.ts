import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { readFixture } from '../../src/topology/fixture-files.js';
import { FIXTURE_NAMES, analyzeAtRun, loadFixture } from './fixture-bundles.js';

/**
 * What Istio's proxy keeps of Envoy's stats: the bootstrap's stats_matcher.inclusion_list is
 * `prefix: reporter=` plus the required prefixes, suffixes and regexps plus proxyStatsMatcher's
 * (istio tools/packaging/common/envoy_bootstrap.json and pkg/bootstrap/config.go,
 * requiredEnvoyStatsMatcherInclusion*, at 1.30.3). Envoy's safe_regex matches the whole name.
 */
function istioStatsMatcher(proxyStatsMatcher: { inclusionPrefixes?: string[]; inclusionSuffixes?: string[]; inclusionRegexps?: string[] }) {
  const prefixes = ['reporter=', 'cluster_manager', 'listener_manager', 'server', 'cluster.xds-grpc', 'wasm', ...(proxyStatsMatcher.inclusionPrefixes ?? [])];
  const suffixes = ['rbac.allowed', 'rbac.denied', 'shadow_allowed', 'shadow_denied', 'downstream_cx_active', ...(proxyStatsMatcher.inclusionSuffixes ?? [])];
  const regexps = ['vhost\\..*\\.route\\..*', ...(proxyStatsMatcher.inclusionRegexps ?? [])].map((r) => new RegExp(`^(?:${r})$`));
  return (stat: string) => prefixes.some((p) => stat.startsWith(p)) || suffixes.some((s) => stat.endsWith(s)) || regexps.some((r) => r.test(stat));
}

/**
 * The bundle integrity check (src/analyze/integrity.ts) compares every counter of the before
 * capture under the path's prefixes with the after capture; it needs none of them kept (a counter
 * Istio drops is in neither capture, and is then not compared). Real Envoy captures hold dozens of
 * such counters (upstream_cx_http1_total, upstream_cx_rx_bytes_total, ...): those lookups are not
 * stats the verdicts read, so they are counted apart.
 */
const INTEGRITY_CHECK = /[\\/]src[\\/]analyze[\\/]integrity\.[jt]s/;

/** Every Envoy stat name (cluster.* / listener.*) the analyzer looks up while judging the fixture bundles. */
function statsTheAnalyzerReads(): { read: Set<string>; compared: Set<string> } {
  const read = new Set<string>();
  const compared = new Set<string>();
  const original = Map.prototype.get;
  const spy = vi.spyOn(Map.prototype, 'get').mockImplementation(function (this: Map<unknown, unknown>, key: unknown) {
    if (typeof key === 'string' && /^(cluster|listener)\.\S+\.[a-zA-Z_-]/.test(key)) {
      (INTEGRITY_CHECK.test(new Error().stack ?? '') ? compared : read).add(key);
    }
    return original.call(this, key);
  });
  try {
    for (const name of FIXTURE_NAMES) analyzeAtRun(loadFixture(name));
  } finally {
    spy.mockRestore();
  }
  return { read, compared };
}

const iop = parse(readFixture('istio', 'istio-operator.yaml'));
const matcher = iop.spec.meshConfig.defaultConfig.proxyStatsMatcher;

describe('fixtures/istio/istio-operator.yaml proxyStatsMatcher keeps what the analyzer reads', () => {
  afterEach(() => vi.restoreAllMocks());

  it('every stat the analyzer looks up survives Istio\'s stats inclusion with this matcher', () => {
    const { read, compared } = statsTheAnalyzerReads();
    // The integrity check's lookups were seen and set apart (a sanity check on the stack filter).
    expect([...compared].some((n) => n.endsWith('.upstream_cx_rx_bytes_total'))).toBe(true);
    // The analyzer really reads counters of both kinds (a sanity check on the spy).
    for (const suffix of ['.upstream_rq_total', '.tlsMode-istio.total_match_count', '.tlsMode-disabled.total_match_count', '.ssl.handshake', '.downstream_cx_total']) {
      expect([...read].some((n) => n.endsWith(suffix))).toBe(true);
    }
    const kept = istioStatsMatcher(matcher);
    expect([...read].filter((n) => !kept(n))).toEqual([]);
  });

  it('would fail with the matcher this project shipped before (no upstream_rq_total, no tlsMode-* match counts)', () => {
    const old = istioStatsMatcher({ inclusionRegexps: ['listener\\..*\\.ssl\\..*', 'cluster\\..*\\.ssl\\..*', 'listener\\..*\\.downstream_cx_total', 'cluster\\..*\\.upstream_cx_total'] });
    const dropped = [...statsTheAnalyzerReads().read].filter((n) => !old(n));
    expect(dropped.some((n) => n.endsWith('.upstream_rq_total'))).toBe(true);
    expect(dropped.some((n) => n.endsWith('.total_match_count'))).toBe(true);
  });
});
