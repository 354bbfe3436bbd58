import { describe, expect, it } from 'vitest';
import { parsePrometheus, parseStats } from '../../../src/envoy/index.js';
import { ISTIO_DEFAULT_INCLUSION, statsMatcher } from '../../../src/lab/dataplane/stats-matcher.js';
import { extractTags, renderPrometheus, renderStatsJson, renderStatsText } from '../../../src/lab/dataplane/stats-render.js';
import { StatsStore } from '../../../src/lab/dataplane/stats-store.js';

describe('stat names and matchers', () => {
  it('Istio\'s default inclusion keeps server, manager, xds-grpc and istio metrics only', () => {
    const keep = statsMatcher(ISTIO_DEFAULT_INCLUSION);
    expect(keep('cluster.xds-grpc.ssl.handshake')).toBe(true);
    expect(keep('server.live')).toBe(true);
    expect(keep('reporter=.=destination;.;istio_requests_total')).toBe(true);
    expect(keep('listener.0.0.0.0_15006.ssl.handshake')).toBe(false);
    expect(keep('cluster.outbound|8080||svc.mesh-verify.svc.cluster.local.ssl.handshake')).toBe(false);
    expect(keep('http.inbound_0.0.0.0_8080.rbac.allowed')).toBe(true);
  });

  it('tag extraction follows Istio\'s stats_tags for cluster, listener and response code', () => {
    expect(extractTags('cluster.outbound|8080||svc.mesh-verify.svc.cluster.local.ssl.handshake')).toEqual({ name: 'cluster.ssl.handshake', tags: { cluster_name: 'outbound|8080||svc.mesh-verify.svc.cluster.local' } });
    expect(extractTags('cluster.inbound|8080||.upstream_rq_200')).toEqual({ name: 'cluster.upstream_rq', tags: { cluster_name: 'inbound|8080||', response_code: '200' } });
    expect(extractTags('listener.0.0.0.0_15006.downstream_cx_total')).toEqual({ name: 'listener.downstream_cx_total', tags: { listener_address: '0.0.0.0_15006' } });
  });

  it('a filtered store never creates excluded stats; text, JSON and Prometheus agree', () => {
    const s = new StatsStore(false);
    s.inc('listener.0.0.0.0_15006.ssl.handshake');
    s.inc('cluster.xds-grpc.upstream_cx_total', 2);
    s.countRequest({ reporter: 'destination', connection_security_policy: 'mutual_tls' });
    const text = parseStats(renderStatsText(s));
    expect([...text.keys()].some((k) => k.startsWith('listener.'))).toBe(false);
    expect(text.get('cluster.xds-grpc.upstream_cx_total')).toBe(2);
    expect(parseStats(renderStatsJson(s))).toEqual(text);
    expect(parseStats(renderStatsText(s, 'xds'))).toEqual(new Map([['cluster.xds-grpc.upstream_cx_total', 2]]));
    const prom = parsePrometheus(renderPrometheus(s));
    expect(prom).toContainEqual({ name: 'envoy_cluster_upstream_cx_total', labels: { cluster_name: 'xds-grpc' }, value: 2 });
    expect(prom).toContainEqual({ name: 'istio_requests_total', labels: { reporter: 'destination', connection_security_policy: 'mutual_tls' }, value: 1 });
    const all = new StatsStore(true);
    all.inc('listener.0.0.0.0_15006.ssl.handshake');
    expect(parseStats(renderStatsText(all)).get('listener.0.0.0.0_15006.ssl.handshake')).toBe(1);
  });
});
