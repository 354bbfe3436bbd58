import { statsMatcher, inclusionPatterns } from './stats-matcher.js';

/** One istio_requests_total series: label name -> value, in Istio's label order. */
export type IstioLabels = Record<string, string>;

/**
 * A proxy's stats, counted from what happens on its sockets. Names are Envoy's stat names
 * (`listener.0.0.0.0_15006.ssl.handshake`, `cluster.<name>.upstream_cx_total`, ...). A stat the
 * matcher excludes is never created, as in Envoy.
 */
export class StatsStore {
  readonly counters = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  /** istio_requests_total: series key -> labels and value. */
  readonly requests = new Map<string, { labels: IstioLabels; value: number }>();
  private allowed: (name: string) => boolean;

  constructor(includeSslStats: boolean) {
    this.allowed = statsMatcher(inclusionPatterns(includeSslStats));
  }

  /** Stats matchers are bootstrap config: a changed matcher applies to stats created from now on. */
  setInclusion(includeSslStats: boolean): void {
    this.allowed = statsMatcher(inclusionPatterns(includeSslStats));
  }

  inc(name: string, by = 1): void {
    if (!this.counters.has(name) && !this.allowed(name)) return;
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  /** Create counters at 0 (Envoy creates a cluster's or listener's stats when it is added). */
  declare(...names: string[]): void {
    for (const name of names) if (!this.counters.has(name) && this.allowed(name)) this.counters.set(name, 0);
  }

  setGauge(name: string, value: number): void {
    if (!this.gauges.has(name) && !this.allowed(name)) return;
    this.gauges.set(name, value);
  }

  addGauge(name: string, by: number): void {
    if (!this.gauges.has(name) && !this.allowed(name)) return;
    this.gauges.set(name, (this.gauges.get(name) ?? 0) + by);
  }

  /** Istio's standard metric (its stats are named `reporter=...` internally, always included). */
  countRequest(labels: IstioLabels): void {
    const key = JSON.stringify(labels);
    const series = this.requests.get(key);
    if (series) series.value += 1;
    else this.requests.set(key, { labels, value: 1 });
  }
}
