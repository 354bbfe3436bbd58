import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectConfigDump } from '../../src/envoy/config-dump.js';
import { startFleet, type RunningFleet } from '../../src/lab/scale/index.js';
import { PROXY_VARIANTS, planFleet } from '../../src/lab/scale/plan.js';
import { AUDIT_CODES } from '../../src/analyze/audit/codes.js';

describe('scale fleet plan', () => {
  it('is deterministic for a seed and plants every variant at least once from 20 proxies up', () => {
    const a = planFleet(60, 7);
    expect(planFleet(60, 7)).toEqual(a);
    expect(planFleet(60, 8).proxies.map((p) => p.variant)).not.toEqual(a.proxies.map((p) => p.variant));
    for (const n of [20, 60]) {
      const variants = new Set(planFleet(n, 1).proxies.map((p) => p.variant));
      const expected = PROXY_VARIANTS.filter((v) => n >= 60 || v !== 'drift-strict'); // a PERMISSIVE namespace exists from 2 namespaces on
      for (const v of expected) expect(variants.has(v), `${v} in a fleet of ${n}`).toBe(true);
    }
  });
  it('rejects a bad size', () => {
    expect(() => planFleet(0)).toThrow(/positive integer/);
  });
});

describe('scale fleet admin servers', () => {
  let fleet: RunningFleet;
  beforeAll(async () => { fleet = await startFleet({ count: 12, seed: 3 }); }, 30_000);
  afterAll(async () => { await fleet?.stop(); });

  const get = async (port: number, path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, text: await r.text() };
  };
  const reachable = () => fleet.pods().filter((p) => p.ports[15000]);

  it('serves Istio-shaped config dumps of 100 KB to 1 MB that the envoy parser reads', async () => {
    const sizes: number[] = [];
    for (const p of reachable().slice(0, 12)) {
      const r = await get(p.ports[15000], '/config_dump').catch(() => null);
      if (!r) continue;
      sizes.push(r.text.length);
      const posture = inspectConfigDump(JSON.parse(r.text));
      expect(posture.proxy.podName).toBe(p.name);
      expect(posture.secrets.some((s) => s.name === 'default')).toBe(true);
      expect(posture.clusters.length).toBeGreaterThan(10);
    }
    expect(sizes.length).toBeGreaterThan(8);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(100_000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1_100_000);
  });

  it("applies ?mask= as Envoy does: only the sections whose type has the masked fields; 400 when none has", async () => {
    const p = reachable()[0];
    const full = await get(p.ports[15000], '/config_dump');
    const masked = await get(p.ports[15000], '/config_dump?mask=bootstrap.node');
    const doc = JSON.parse(masked.text) as { configs: Record<string, unknown>[] };
    expect(doc.configs.map((c) => c['@type'])).toEqual(['type.googleapis.com/envoy.admin.v3.BootstrapConfigDump']);
    expect(masked.text.length * 5).toBeLessThan(full.text.length);
    expect(Object.keys((doc.configs[0] as { bootstrap: Record<string, unknown> }).bootstrap)).toEqual(['node']);
    // One mask across two dump types fits no single dump.
    const across = await get(p.ports[15000], '/config_dump?mask=bootstrap.node,dynamic_active_secrets');
    expect(across.status).toBe(400);
    expect(across.text).toContain('could not be successfully applied to any configs');
  });

  it('answers /certs, /stats?filter= and /server_info in Envoy formats', async () => {
    const p = reachable()[0];
    const certs = JSON.parse((await get(p.ports[15000], '/certs')).text) as { certificates: { cert_chain: { subject_alt_names: { uri?: string }[] }[] }[] };
    expect(certs.certificates[0].cert_chain[0].subject_alt_names[0].uri).toBe(`spiffe://cluster.local/ns/${p.namespace}/sa/${p.serviceAccount}`);
    const stats = (await get(p.ports[15000], '/stats?filter=^listener_manager\\.')).text.trim().split('\n');
    expect(stats.length).toBeGreaterThan(1);
    expect(stats.every((l) => l.startsWith('listener_manager.'))).toBe(true);
    const info = JSON.parse((await get(p.ports[15000], '/server_info')).text) as { state: string; version: string };
    expect(info.state).toBe('LIVE');
    // The recorded release binary reports its build status as `Modified` (Envoy's own release builds do).
    expect(info.version).toMatch(/\/1\.\d+\.\d+\/(Clean|Modified)\/RELEASE\/BoringSSL$/);
    expect((await get(p.ports[15000], '/nope')).status).toBe(404);
  });

  it('plants only codes the audit knows, on objects that exist', () => {
    const names = new Set(fleet.pods().map((p) => `${p.namespace}/${p.name}`));
    for (const p of fleet.planted) {
      expect(Object.keys(AUDIT_CODES)).toContain(p.code);
      const pod = /pod (\S+)/.exec(p.object)?.[1];
      if (pod) expect(names.has(pod), p.object).toBe(true);
    }
  });
});
