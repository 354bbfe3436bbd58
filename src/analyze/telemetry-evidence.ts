import type { IstioRequestSeries } from '../envoy/types.js';
import type { ProxyFacts } from './proxy-facts.js';

export interface SeriesDelta {
  series: IstioRequestSeries;
  /** after - before; the after value itself when no before scrape exists (`cumulative`). */
  delta: number;
  cumulative: boolean;
}

function key(s: IstioRequestSeries): string {
  return JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)));
}

/** `istio_requests_total` series that grew during the run, or null when not scraped. */
export function requestDeltas(p: ProxyFacts): SeriesDelta[] | null {
  if (!p.requestsAfter) return null;
  const before = new Map((p.requestsBefore ?? []).map((s) => [key(s), s.value]));
  const out: SeriesDelta[] = [];
  for (const s of p.requestsAfter) {
    const delta = s.value - (before.get(key(s)) ?? 0);
    if (delta > 0) out.push({ series: s, delta, cumulative: p.requestsBefore === null });
  }
  return out;
}

/** The istio_requests_total label set for an evidence subject. */
export function seriesSubject(s: IstioRequestSeries): string {
  const parts = [
    `reporter="${s.reporter ?? ''}"`, `source_workload="${s.sourceWorkload ?? ''}"`, `source_principal="${s.sourcePrincipal ?? ''}"`,
    `destination_service="${s.destinationService ?? ''}"`, `destination_principal="${s.destinationPrincipal ?? ''}"`,
    `connection_security_policy="${s.connectionSecurityPolicy ?? ''}"`, `response_code="${s.responseCode ?? ''}"`,
  ];
  return `istio_requests_total{${parts.join(',')}}`;
}

/** Does an Istio `source_workload` name the workload of this proxy's pod (Deployment name prefix)? */
export function isWorkloadOf(workload: string | null, p: ProxyFacts | undefined): boolean {
  if (!workload || !p) return false;
  const pod = p.capture.pod.name;
  return pod === workload || pod.startsWith(`${workload}-`);
}
