import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectKube } from '../../src/cluster/kube-client.js';
import { limit } from '../../src/cluster/limits.js';
import { LIST_PAGE_SIZE, readInventory } from '../../src/collect/audit/inventory.js';
import { startPathPrefixProxy } from '../helpers/path-prefix-proxy.js';
import { realClusterMissing, startRealCluster, type RealCluster } from '../helpers/real-cluster.js';

/**
 * The inventory's paging (limit and continue) against the real kube-apiserver: its audit log
 * records each list request and its answer. The 410 case compacts etcd (its v3 HTTP gateway)
 * between the first and the second page, through a small proxy in front of the apiserver that
 * holds the second page's request until the compaction is done. Since 1.34 the apiserver serves a
 * continue page from its watch cache's snapshot (feature ListFromCacheSnapshot, beta, on), which
 * does not learn of a compaction made outside the apiserver (its own compactor runs every 5 min):
 * with the gate off it reads the page from etcd, as 1.33 and earlier always did, and answers 410.
 */
describe.skipIf(realClusterMissing !== null)('audit inventory on a large cluster (the real kube-apiserver)', () => {
  const count = 2 * LIST_PAGE_SIZE + 37;
  const namespaces = 7;
  let c: RealCluster;
  let kubeconfig: string;
  let proxy: Awaited<ReturnType<typeof startPathPrefixProxy>>;
  let compactNext = false;
  let compacted: number | null = null;
  /** Runs before each request is forwarded, when a test sets it. */
  let hold: ((path: string) => Promise<void>) | null = null;

  const etcd = async (path: string, body: unknown) => {
    const res = await fetch(`${c.cp.etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    const json = await res.json() as { header?: { revision?: string } };
    if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  beforeAll(async () => {
    c = await startRealCluster({ apiserverFlags: ['--feature-gates=ListFromCacheSnapshot=false'] });
    // Pods only as API objects (nothing listens): the inventory reads the API, not the proxies.
    await c.apply(Array.from({ length: namespaces }, (_, i) => [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${i}` } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: `ns-${i}` } },
    ]).flat());
    const pod = (i: number) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `w-${i}`, namespace: `ns-${i % namespaces}`, labels: { app: `w-${i % 40}` } },
      spec: {
        nodeName: c.cp.nodeName, automountServiceAccountToken: false,
        containers: (i % 3 === 0 ? ['app'] : ['app', 'istio-proxy']).map((n) => ({ name: n, image: `example.test/${n}:1` })),
      },
    });
    for (let i = 0; i < count; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => c.api('POST', `/api/v1/namespaces/ns-${(i + j) % namespaces}/pods`, pod(i + j)).then((r) => {
        if (r.status !== 201) throw new Error(`create pod w-${i + j}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      })));
    }
    proxy = await startPathPrefixProxy(c.cp.server, c.cp.caPem, '/api-proxy', {
      async beforeForward(path) {
        await hold?.(path);
        if (!compactNext || !/^\/api\/v1\/pods\?.*continue=/.test(path)) return;
        compactNext = false;
        // A write after the first page, then etcd compacts up to it: the first page's revision is gone.
        const r = await c.api('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'bump-' }, data: { at: String(Date.now()) } });
        if (r.status !== 201) throw new Error(`bump: HTTP ${r.status}`);
        const rev = (await etcd('/v3/kv/range', { key: Buffer.from('/registry/configmaps/default/').toString('base64') })).header!.revision!;
        await etcd('/v3/kv/compaction', { revision: rev, physical: true });
        compacted = Number(rev);
      },
    });
    const sa = await c.serviceAccountKubeconfig('inventory-reader', [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list'] }]);
    const cfg = JSON.parse(readFileSync(sa, 'utf8'));
    cfg.clusters[0].cluster = { server: proxy.url, 'certificate-authority-data': Buffer.from(proxy.caPem).toString('base64') };
    kubeconfig = join(c.dir, 'through-proxy.kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify(cfg));
  }, 180_000);
  afterAll(async () => {
    await proxy?.close();
    await c?.stop();
  });

  /** The cluster-wide pod lists of the apiserver's audit log since `from`: [limit, has continue, HTTP code]. */
  const podLists = (from: number) => c.cp.auditEvents().slice(from)
    .filter((e) => e.stage === 'ResponseComplete' && e.verb === 'list' && e.objectRef?.resource === 'pods' && !e.objectRef.namespace && e.user.username.endsWith(':inventory-reader'))
    .map((e) => { const q = new URL(e.requestURI, 'https://x').searchParams; return [q.get('limit'), q.has('continue'), e.responseStatus?.code]; });

  it(`lists pods in pages of ${LIST_PAGE_SIZE} (limit and continue, as kubectl's --chunk-size) and keeps every pod`, async () => {
    const before = c.cp.auditEvents().length;
    const inv = await readInventory(await connectKube({ kubeconfig }), { namespaces: null, rootNamespace: 'istio-system', timeoutMs: 20_000 });
    expect(podLists(before)).toEqual([[String(LIST_PAGE_SIZE), false, 200], [String(LIST_PAGE_SIZE), true, 200], [String(LIST_PAGE_SIZE), true, 200]]);
    const mine = inv.policy.pods.filter((p) => p.name.startsWith('w-'));
    expect(mine).toHaveLength(count);
    expect(new Set(mine.map((p) => p.name)).size).toBe(count);
    expect(inv.proxies.filter((p) => p.name.startsWith('w-'))).toHaveLength(count - Math.ceil(count / 3));
  }, 60_000);

  it('starts the list again, whole, when its continue token expires between pages (410 after an etcd compaction)', async () => {
    const before = c.cp.auditEvents().length;
    compactNext = true;
    const inv = await readInventory(await connectKube({ kubeconfig }), { namespaces: null, rootNamespace: 'istio-system', timeoutMs: 20_000 });
    expect(compacted).not.toBeNull();
    expect(podLists(before)).toEqual([[String(LIST_PAGE_SIZE), false, 200], [String(LIST_PAGE_SIZE), true, 410], [null, false, 200]]);
    const mine = inv.policy.pods.filter((p) => p.name.startsWith('w-'));
    expect(mine).toHaveLength(count);
    expect(new Set(mine.map((p) => p.name)).size).toBe(count);
  }, 60_000);

  it(`reads at most ${limit('API_LIST_PAGES_AT_ONCE')} list pages at once over ${namespaces} namespaces, and the first read that fails stops the others`, async () => {
    const nss = Array.from({ length: namespaces }, (_, i) => `ns-${i}`);
    const read = () => connectKube({ kubeconfig }).then((k) => readInventory(k, { namespaces: nss, rootNamespace: 'istio-system', timeoutMs: 20_000 }));
    // Each list request is held 100 ms in the proxy: the most held at one time is the most in flight.
    const isList = (path: string) => /[?&]limit=/.test(path);
    let held = 0;
    let most = 0;
    const lists: string[] = [];
    let failing: string | null = null;
    let failedAt = -1;
    hold = async (path) => {
      if (!isList(path)) return;
      lists.push(path);
      held += 1;
      most = Math.max(most, held);
      await new Promise((r) => setTimeout(r, 100));
      held -= 1;
      if (failing !== null && path.startsWith(failing)) { failedAt = lists.length; throw new Error('dropped'); }
    };
    try {
      const inv = await read();
      expect(inv.policy.pods.filter((p) => p.name.startsWith('w-'))).toHaveLength(count);
      // The namespaces, then per namespace pods, services, PeerAuthentications (istio-system's too)
      // and DestinationRules (v1, then v1beta1: this cluster has no Istio CRDs), and istiod's Deployments.
      const all = lists.length;
      expect(all).toBe(1 + 2 * namespaces + 2 * (namespaces + 1) + 2 * namespaces + 1);
      expect(most).toBe(limit('API_LIST_PAGES_AT_ONCE'));

      lists.length = 0;
      failing = '/api/v1/namespaces/ns-0/pods';
      await expect(read()).rejects.toThrow(/ns-0\/pods/);
      // The reads already in flight when it failed end; none starts after it (four holds later either).
      await new Promise((r) => setTimeout(r, 400));
      expect(failedAt).toBeGreaterThan(0);
      expect(lists.length).toBeLessThanOrEqual(failedAt + limit('API_LIST_PAGES_AT_ONCE') - 1);
      expect(lists.length).toBeLessThan(all);
    } finally {
      hold = null;
    }
  }, 60_000);
});
