import { describe, expect, it } from 'vitest';
import type { EvidenceBundle } from '../../src/bundle/types.js';
import type { EvidenceItem } from '../../src/analyze/types.js';
import { requestIdKey } from '../../src/bundle/correlation.js';
import { analyzeAtRun, loadFixture, segment, statuses } from './fixture-bundles.js';

/**
 * The fixture bundles have the request-id behaviour of a real Istio gateway (Envoy >= 1.33,
 * use_remote_address true, no preserve_external_request_id; istio
 * pilot/pkg/networking/core/gateway.go at 1.30.3, envoy source/common/http/conn_manager_utility.cc):
 * every hop logs and sees the gateway's new UUID, not the probe's x-request-id, and our
 * x-mesh-verify-id travels unchanged.
 */
function editLines(b: EvidenceBundle, edit: (line: Record<string, unknown>) => void): void {
  for (const p of b.proxies) {
    p.accessLog = p.accessLog.map((l) => {
      const e = JSON.parse(l) as Record<string, unknown>;
      edit(e);
      return JSON.stringify(e);
    });
  }
}

const accessLogItems = (b: EvidenceBundle, seg: string): EvidenceItem[] =>
  segment(analyzeAtRun(b), seg).evidence.filter((e) => e.source === 'access_log');

const HOPS = ['nlb->gateway', 'gateway->bff-sidecar', 'bff-sidecar->bff', 'bff->bff-sidecar', 'bff-sidecar->svc-sidecar', 'svc-sidecar->svc'];

describe('tying access-log lines and app answers to the run', () => {
  it('the fixture has the real shape: the gateway replaced x-request-id, our id is on every line and answer', () => {
    const b = loadFixture('healthy');
    for (const r of b.requests) {
      const seen = r.requestIds?.seen ?? [];
      expect(seen.length).toBe(5);
      expect(seen.every((h) => h.requestId !== r.id)).toBe(true);
      expect(r.response?.meshVerifyId).toBe(r.id);
    }
    const ours = new RegExp(`^mv-${b.run.id}-\\d$`);
    for (const p of b.proxies) for (const l of p.accessLog) expect(JSON.parse(l).mesh_verify_id).toMatch(ours);
  });

  it('ties every proxy\'s lines through mesh_verify_id: request-level evidence on every hop, 5 of 5 requests', () => {
    const b = loadFixture('healthy');
    const r = analyzeAtRun(b);
    expect(r.overall).toBe('proven');
    for (const hop of HOPS) {
      const items = accessLogItems(b, hop);
      expect(items.length, hop).toBeGreaterThan(0);
      expect(items.every((i) => i.effect === 'supports' && i.observed.endsWith('(5 of 5 requests)')), hop).toBe(true);
    }
  });

  it('without mesh_verify_id in the log format, ties lines through the x-request-id the apps saw', () => {
    const b = loadFixture('healthy');
    editLines(b, (e) => { delete e.mesh_verify_id; });
    const before = analyzeAtRun(loadFixture('healthy'));
    expect(statuses(analyzeAtRun(b))).toEqual(statuses(before));
    for (const hop of HOPS) expect(accessLogItems(b, hop).every((i) => i.observed.endsWith('(5 of 5 requests)')), hop).toBe(true);
  });

  it('never ties through the probe\'s x-request-id alone', () => {
    // The lines carry the probe's id as request_id (as if no proxy had replaced it), but neither
    // our header nor an app's answer confirms them.
    const b = loadFixture('healthy');
    const byGatewayId = new Map(b.requests.map((r) => [r.requestIds!.seen[0].requestId, r.id]));
    editLines(b, (e) => {
      e.request_id = byGatewayId.get(e.request_id as string);
      delete e.mesh_verify_id;
    });
    for (const r of b.requests) r.response = null;
    const items = accessLogItems(b, 'gateway->bff-sidecar');
    expect(items.every((i) => i.effect === 'neutral')).toBe(true);
    expect(items.map((i) => i.observed)).toContain('no matching entry for this run\'s requests');
  });

  it('a line of another run (its own mesh_verify_id) is not ours even when its request_id is one an app saw', () => {
    const b = loadFixture('healthy');
    editLines(b, (e) => { e.mesh_verify_id = `mv-other-run-${String(e.mesh_verify_id).split('-').at(-1)}`; });
    expect(accessLogItems(b, 'bff-sidecar->svc-sidecar').every((i) => i.effect === 'neutral')).toBe(true);
  });

  it('an answer that carries another request\'s x-mesh-verify-id is not this request\'s', () => {
    const b = loadFixture('healthy');
    for (const r of b.requests) {
      r.response!.meshVerifyId = 'mv-someone-else-1';
      r.response!.upstream!.body!.meshVerifyId = 'mv-someone-else-1';
    }
    const xfcc = segment(analyzeAtRun(b), 'gateway->bff-sidecar').evidence.filter((e) => e.source === 'xfcc');
    expect(xfcc).toEqual([expect.objectContaining({ effect: 'neutral', observed: 'no answer of the app recorded' })]);
  });

  it('bundles recorded before our header existed (request_id = our id everywhere) still tie', () => {
    const b = loadFixture('healthy');
    const byGatewayId = new Map(b.requests.map((r) => [r.requestIds!.seen[0].requestId, r.id]));
    editLines(b, (e) => {
      e.request_id = byGatewayId.get(e.request_id as string);
      delete e.mesh_verify_id;
    });
    for (const r of b.requests) {
      delete r.requestIds;
      for (const echo of [r.response!, r.response!.upstream!.body!]) {
        delete echo.meshVerifyId;
        delete echo.headers['x-mesh-verify-id'];
        echo.requestId = r.id;
      }
    }
    expect(analyzeAtRun(b).overall).toBe('proven');
    expect(accessLogItems(b, 'bff-sidecar->svc-sidecar').every((i) => i.observed.endsWith('(5 of 5 requests)'))).toBe(true);
  });

  it('reads upstream_cluster logged with %UPSTREAM_CLUSTER% (alt_stat_name `<name>;`, Istio >= 1.23) like the raw name', () => {
    // istio pilot/pkg/networking/core/cluster_builder.go at 1.30.3: c.AltStatName = util.DelimitedStatsPrefix(name).
    const b = loadFixture('healthy');
    editLines(b, (e) => { if (typeof e.upstream_cluster === 'string' && e.upstream_cluster !== '-') e.upstream_cluster = `${e.upstream_cluster};`; });
    expect(statuses(analyzeAtRun(b))).toEqual(statuses(analyzeAtRun(loadFixture('healthy'))));
    for (const hop of HOPS) expect(accessLogItems(b, hop).every((i) => i.observed.endsWith('(5 of 5 requests)')), hop).toBe(true);
  });

  it('matches a UUID whatever trace decision a proxy packed into it (envoy source/extensions/request_id/uuid/config.cc)', () => {
    expect(requestIdKey('93c81872-d174-46b4-8e7f-bd75b114efbb')).toBe(requestIdKey('93c81872-d174-b6b4-8e7f-bd75b114efbb'));
    expect(requestIdKey('93c81872-d174-96b4-8e7f-bd75b114efbb')).not.toBe(requestIdKey('93c81872-d174-46b4-8e7f-bd75b114efbc'));
    expect(requestIdKey('mv-r-1')).toBe('mv-r-1');
    const b = loadFixture('healthy');
    editLines(b, (e) => {
      delete e.mesh_verify_id;
      const id = e.request_id as string;
      e.request_id = `${id.slice(0, 14)}9${id.slice(15)}`;
    });
    expect(accessLogItems(b, 'gateway->bff-sidecar').every((i) => i.observed.endsWith('(5 of 5 requests)'))).toBe(true);
  });
});
