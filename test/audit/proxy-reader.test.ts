import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectConfigDump } from '../../src/envoy/config-dump.js';
import { startFleet, type RunningFleet } from '../../src/lab/scale/index.js';
import { planFleet } from '../../src/lab/scale/plan.js';
import { AUDIT_LISTENER_ERRORS_PATH, AUDIT_NODE_PATH, AUDIT_SECRETS_PATH, fetchAuditDump } from '../../src/collect/audit/proxy-reader.js';

/** The audit's selective reads against the fleet's admin servers (Envoy's ?resource= form). */
describe('audit proxy reads: only what the rules need', () => {
  let fleet: RunningFleet;
  const plan = planFleet(24, 5);
  beforeAll(async () => { fleet = await startFleet({ count: 24, seed: 5 }); }, 30_000);
  afterAll(async () => { await fleet?.stop(); });

  const getter = (port: number, seen: string[] = []) => async (path: string) => {
    seen.push(path);
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    return r.text();
  };
  const readable = () => plan.proxies.filter((p) => p.variant !== 'unreachable' && p.variant !== 'restarting');
  const portOf = (name: string) => fleet.pods().find((p) => p.name === name)!.ports[15000];

  it('?resource=dynamic_listeners with name_regex and mask answers typed items, filtered and trimmed', async () => {
    const sidecar = readable().find((p) => !p.gateway)!;
    const get = getter(portOf(sidecar.name));
    const inbound = JSON.parse(await get('/config_dump?resource=dynamic_listeners&name_regex=virtualInbound')) as { configs: Record<string, unknown>[] };
    expect(inbound.configs.map((c) => [c['@type'], c.name])).toEqual([['type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener', 'virtualInbound']]);
    const masked = JSON.parse(await get(AUDIT_LISTENER_ERRORS_PATH)) as { configs: Record<string, unknown>[] };
    expect(masked.configs.length).toBeGreaterThan(10);
    expect(new Set(masked.configs.flatMap((c) => Object.keys(c)))).toEqual(new Set(['@type', 'name']));
    const r = await fetch(`http://127.0.0.1:${portOf(sidecar.name)}/config_dump?resource=no_such_list`);
    expect(r.status).toBe(404);
  });

  it('gives every proxy the same posture (version, secrets, inbound modes, rejected listeners) as its full dump, for a fraction of the bytes', async () => {
    let selectiveBytes = 0;
    let fullBytes = 0;
    const proxies = readable();
    expect(proxies.some((p) => p.variant === 'listener-error')).toBe(true);
    expect(proxies.some((p) => p.gateway)).toBe(true);
    for (const p of proxies) {
      const seen: string[] = [];
      const get = getter(portOf(p.name), seen);
      const counting = async (path: string) => { const t = await get(path); selectiveBytes += t.length; return t; };
      const now = new Date();
      const selective = inspectConfigDump(await fetchAuditDump(counting, p.gateway), { now });
      const fullText = await get('/config_dump');
      fullBytes += fullText.length;
      const full = inspectConfigDump(JSON.parse(fullText), { now });
      expect(selective.proxy, p.name).toEqual(full.proxy);
      expect(selective.secrets, p.name).toEqual(full.secrets);
      expect(selective.inbound, p.name).toEqual(full.inbound);
      const errors = (x: typeof full) => x.listeners.filter((l) => l.state === 'error');
      expect(errors(selective), p.name).toEqual(errors(full));
      // The audit reads dynamic listeners only; a real dump also has the bootstrap's static 0.0.0.0_15090.
      if (p.gateway) expect(selective.listeners, p.name).toEqual(full.listeners.filter((l) => !l.static));
      expect(seen.slice(1, 3)).toEqual([AUDIT_NODE_PATH, AUDIT_SECRETS_PATH]);
      // Error states are read only when Envoy counted a rejected update (sidecars).
      if (!p.gateway) expect(seen.includes(AUDIT_LISTENER_ERRORS_PATH), p.name).toBe(p.variant === 'listener-error');
    }
    // A real Envoy's node lists every compiled-in extension (~95 KB of the ~100 KB that
    // ?mask=bootstrap.node returns), so the selective reads are about a third of the full dumps
    // (a hand-built node had no extensions: a tenth).
    expect(selectiveBytes * 3).toBeLessThan(fullBytes);
  });

  it("the proxy's node id (router~ / sidecar~) decides which listeners are read, not the pod spec's guess", async () => {
    const gw = readable().find((p) => p.gatewayApi)!;
    const sidecar = readable().find((p) => !p.gateway)!;
    // A gateway the pod spec did not reveal: all its listeners are still read (the credentials' hosts).
    const seenGw: string[] = [];
    const asGateway = inspectConfigDump(await fetchAuditDump(getter(portOf(gw.name), seenGw), false), { now: new Date() });
    expect(asGateway.proxy.type).toBe('router');
    expect(seenGw).toContain('/config_dump?resource=dynamic_listeners');
    expect(asGateway.listeners.map((l) => l.name)).toContain('0.0.0.0_443');
    // A sidecar taken for a gateway: only its inbound listener is read.
    const seenSidecar: string[] = [];
    await fetchAuditDump(getter(portOf(sidecar.name), seenSidecar), true);
    expect(seenSidecar.some((p) => p.includes('name_regex=virtualInbound'))).toBe(true);
    expect(seenSidecar).not.toContain('/config_dump?resource=dynamic_listeners');
  });
});
