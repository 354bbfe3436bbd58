import type { HopRequestId, ProxyCapture, RequestRecord } from '../bundle/types.js';
import { echoHops, runCorrelation, runRequestOf } from '../bundle/correlation.js';
import { parseAccessLogLine } from '../envoy/access-log.js';

/**
 * Each request with the x-request-id every hop saw: the access-log lines of each proxy (in
 * capture order) tied to it through our id, then the answers of the apps. Shows in the bundle
 * where an edge proxy replaced the probe's x-request-id.
 */
export function withRequestIdTrails(requests: readonly RequestRecord[], proxies: readonly ProxyCapture[]): RequestRecord[] {
  const c = runCorrelation(requests);
  const logged = new Map<string, HopRequestId[]>();
  for (const p of proxies) {
    for (const line of p.accessLog) {
      const entry = parseAccessLogLine(line);
      const id = entry && runRequestOf(c, entry);
      if (!entry || !id) continue;
      const hops = logged.get(id) ?? [];
      if (!hops.some((h) => h.at === p.id && h.requestId === entry.requestId)) hops.push({ at: p.id, source: 'access_log', requestId: entry.requestId });
      logged.set(id, hops);
    }
  }
  return requests.map((r) => ({
    ...r,
    requestIds: {
      sent: r.requestIds?.sent ?? r.id,
      seen: [
        ...(logged.get(r.id) ?? []),
        ...echoHops(r),
      ],
    },
  }));
}
