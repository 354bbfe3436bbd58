import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectConfigDump } from '../../src/envoy/config-dump.js';
import { startFleet, type RunningFleet } from '../../src/lab/scale/index.js';

describe('scale fleet /config_dump?include_eds (what `istioctl proxy-config all` reads)', () => {
  let fleet: RunningFleet;
  beforeAll(async () => { fleet = await startFleet({ count: 6, seed: 5 }); }, 30_000);
  afterAll(async () => { await fleet?.stop(); });

  const get = async (port: number, path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).text();

  it('adds one ClusterLoadAssignment per outbound cluster, in the place and shape Envoy gives them, only when asked', async () => {
    const p = fleet.pods().find((x) => x.ports[15000] && x.containers.length > 1)!;
    const plain = JSON.parse(await get(p.ports[15000], '/config_dump')) as { configs: Record<string, unknown>[] };
    const withEds = JSON.parse(await get(p.ports[15000], '/config_dump?include_eds')) as { configs: Record<string, unknown>[] };
    const types = (d: { configs: Record<string, unknown>[] }) => d.configs.map((c) => String(c['@type']).split('.').pop());
    expect(types(plain)).not.toContain('EndpointsConfigDump');
    expect(types(withEds)).toEqual(['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'ScopedRoutesConfigDump', 'RoutesConfigDump', 'SecretsConfigDump']);

    const posture = inspectConfigDump(withEds);
    const outbound = posture.clusters.filter((c) => c.name.startsWith('outbound|'));
    expect(outbound.length).toBeGreaterThan(10);
    for (const c of outbound) {
      expect(c.endpoints, c.name).not.toBeNull();
      expect(c.endpoints!.length).toBeGreaterThanOrEqual(1);
      expect(c.endpoints!.length).toBeLessThanOrEqual(3);
      expect(c.endpoints!.every((e) => e.tlsMode === 'istio')).toBe(true);
    }
    // Without include_eds, an EDS cluster has no endpoints in the dump; the recorded catalog's
    // clusters are STATIC (endpoints inline in CDS, see scripts/record-fleet-answers.ts), so their
    // load_assignment stays in the cluster itself, as the real Envoy dumps it.
    const clustersOf = (d: { configs: Record<string, unknown>[] }) => ((d.configs.find((c) => String(c['@type']).endsWith('ClustersConfigDump'))!.dynamic_active_clusters) as { cluster: { name: string; type: string } }[]).map((c) => c.cluster);
    const eds = new Set(clustersOf(plain).filter((c) => c.type === 'EDS').map((c) => c.name));
    expect(eds.size).toBeGreaterThanOrEqual(2);
    const plainOutbound = inspectConfigDump(plain).clusters.filter((c) => c.name.startsWith('outbound|'));
    expect(plainOutbound.filter((c) => eds.has(c.name)).every((c) => c.endpoints === null)).toBe(true);
    expect(plainOutbound.filter((c) => !eds.has(c.name)).every((c) => c.endpoints !== null)).toBe(true);
  });
});
