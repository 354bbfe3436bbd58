import { describe, expect, it } from 'vitest';
import { analyzeAtRun, loadFixture } from './fixture-bundles.js';

describe('the report says which evidence the run could not have', () => {
  it('a run on upstream Envoy (the lab) has no istio_requests_total, and says so', () => {
    const r = analyzeAtRun(loadFixture('healthy'));
    expect(r.notes?.find((n) => n.startsWith('No proxy exposed istio_requests_total'))).toMatch(/\(3 scraped\).*traffic level used Envoy's own counters only/);
  });

  it('says nothing when a proxy exposes Istio\'s request metrics', () => {
    const b = loadFixture('healthy');
    const p = b.proxies.find((x) => x.admin.prometheusAfter)!;
    p.admin.prometheusAfter!.body += '\nistio_requests_total{reporter="destination",connection_security_policy="mutual_tls"} 3\n';
    expect(analyzeAtRun(b).notes?.some((n) => n.startsWith('No proxy exposed istio_requests_total')) ?? false).toBe(false);
  });
});
