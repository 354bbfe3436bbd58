import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectKube } from '../../src/cluster/kube-client.js';
import { LIST_PAGE_SIZE, readInventory } from '../../src/collect/audit/inventory.js';
import { startKubeApi, type KubeApi } from '../../src/lab/kube/server.js';
import type { LabPod } from '../../src/lab/types.js';

describe('audit inventory on a large cluster', () => {
  const count = 2 * LIST_PAGE_SIZE + 37;
  let api: KubeApi;
  let dir: string;
  let kubeconfig: string;
  beforeAll(async () => {
    // Pods only as API objects (nothing listens): the inventory reads the API, not the proxies.
    const pods: LabPod[] = Array.from({ length: count }, (_, i) => ({
      namespace: `ns-${i % 7}`, name: `w-${i}`, app: `w-${i % 40}`, serviceAccount: 'default', ip: `10.244.${i >> 8}.${i & 255}`,
      labels: { app: `w-${i % 40}` }, containers: i % 3 === 0 ? ['app'] : ['app', 'istio-proxy'], ports: {}, logs: () => [],
    }));
    api = await startKubeApi({ pods: () => pods });
    dir = mkdtempSync(join(tmpdir(), 'mesh-verify-inventory-'));
    kubeconfig = join(dir, 'kubeconfig');
    await api.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await api?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`lists pods in pages of ${LIST_PAGE_SIZE} (limit and continue, as kubectl's --chunk-size) and keeps every pod`, async () => {
    const before = api.requests.length;
    const inv = await readInventory(await connectKube({ kubeconfig }), { namespaces: null, rootNamespace: 'istio-system', timeoutMs: 10_000 });
    const podLists = api.requests.slice(before).filter((r) => r.resource === 'pods' && r.verb === 'list');
    expect(podLists.map((r) => new URLSearchParams(r.query).get('limit'))).toEqual([String(LIST_PAGE_SIZE), String(LIST_PAGE_SIZE), String(LIST_PAGE_SIZE)]);
    expect(podLists.map((r) => new URLSearchParams(r.query).has('continue'))).toEqual([false, true, true]);
    const mine = inv.policy.pods.filter((p) => p.name.startsWith('w-'));
    expect(mine).toHaveLength(count);
    expect(new Set(mine.map((p) => p.name)).size).toBe(count);
    expect(inv.proxies.filter((p) => p.name.startsWith('w-'))).toHaveLength(count - Math.ceil(count / 3));
  });

  it('starts the list again, whole, when its continue token expires between pages (410 after a compaction)', async () => {
    const before = api.requests.length;
    const push = api.requests.push.bind(api.requests);
    let compacted = false;
    api.requests.push = (...recs) => {
      // Before the second page is served: a write, then etcd compacts past the first page.
      if (!compacted && recs.some((r) => r.resource === 'pods' && r.verb === 'list' && new URLSearchParams(r.query).has('continue'))) {
        compacted = true;
        api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bump', namespace: 'default' }, data: { at: String(Date.now()) } });
        api.store.compact();
      }
      return push(...recs);
    };
    try {
      const inv = await readInventory(await connectKube({ kubeconfig }), { namespaces: null, rootNamespace: 'istio-system', timeoutMs: 10_000 });
      const podLists = api.requests.slice(before).filter((r) => r.resource === 'pods' && r.verb === 'list');
      expect(podLists.map((r) => [new URLSearchParams(r.query).get('limit'), new URLSearchParams(r.query).has('continue'), r.code]))
        .toEqual([[String(LIST_PAGE_SIZE), false, 200], [String(LIST_PAGE_SIZE), true, 410], [null, false, 200]]);
      const mine = inv.policy.pods.filter((p) => p.name.startsWith('w-'));
      expect(mine).toHaveLength(count);
      expect(new Set(mine.map((p) => p.name)).size).toBe(count);
    } finally {
      api.requests.push = push;
    }
  });
});
