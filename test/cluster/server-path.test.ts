import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openAdminTransport } from '../../src/cluster/admin-transport.js';
import { apiUrl, connectKube } from '../../src/cluster/kube-client.js';
import { portForwardUrl } from '../../src/cluster/port-forward-server.js';
import { checkRights, pathAccessChecks } from '../../src/cluster/preflight.js';
import { readInventory } from '../../src/collect/audit/inventory.js';
import { isLabApi } from '../../src/cluster/lab-marker.js';
import { startPathPrefixProxy } from '../helpers/path-prefix-proxy.js';
import { realClusterMissing, startRealCluster, type RealCluster } from '../helpers/real-cluster.js';

/**
 * Rancher serves each downstream cluster's API under a path of its own server
 * (`https://<rancher>/k8s/clusters/<cluster-id>`, the `server:` of the kubeconfig it hands out),
 * and client-node builds every URL as `cluster.server + path` (dist/log.js, dist/watch.js in
 * @kubernetes/client-node 1.4). mesh-verify's own requests built `new URL('/version', server)`,
 * which drops the path: GET /version went to the Rancher UI, not the cluster.
 */
describe.skipIf(realClusterMissing !== null)('an API server behind a path (https://host/k8s/clusters/c-1; the real kube-apiserver behind a test-local reverse proxy)', () => {
  const PREFIX = '/k8s/clusters/c-1';
  let c: RealCluster;
  let proxy: Awaited<ReturnType<typeof startPathPrefixProxy>>;
  let kubeconfig: string;

  beforeAll(async () => {
    c = await startRealCluster();
    await c.envoyPod({ namespace: 'mesh-verify', name: 'bff-7d9f-abcde' });
    // What the kube lab publishes about itself (src/lab/kube-lab.ts): isLabApi finds it only under the path.
    await c.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mesh-verify-lab', namespace: 'kube-public' }, data: { description: 'test' } }]);
    proxy = await startPathPrefixProxy(c.cp.server, c.cp.caPem, PREFIX);
    // Rancher hands out a token (the proxy forwards the Authorization header, not a client certificate).
    const sa = JSON.parse(readFileSync(await c.serviceAccountKubeconfig('rancher-user', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]), 'utf8'));
    kubeconfig = join(c.dir, 'rancher.kubeconfig');
    writeFileSync(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'c-1', cluster: { server: proxy.url, 'certificate-authority-data': Buffer.from(proxy.caPem).toString('base64') } }],
      users: [{ name: 'u', user: { token: sa.users[0].user.token } }],
      contexts: [{ name: 'c-1', context: { cluster: 'c-1', user: 'u' } }],
      'current-context': 'c-1',
    }));
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await c?.stop();
  });

  it('apiUrl keeps the server path, with or without a trailing slash, and the query', () => {
    expect(apiUrl('https://rancher.example/k8s/clusters/c-1', '/version').toString()).toBe('https://rancher.example/k8s/clusters/c-1/version');
    expect(apiUrl('https://rancher.example/k8s/clusters/c-1/', '/api/v1/pods?limit=500&continue=a%3D').toString())
      .toBe('https://rancher.example/k8s/clusters/c-1/api/v1/pods?limit=500&continue=a%3D');
    expect(apiUrl('https://10.0.0.1:6443', '/version').toString()).toBe('https://10.0.0.1:6443/version');
    expect(portForwardUrl('https://rancher.example/k8s/clusters/c-1', { namespace: 'a', name: 'b' }, 15000))
      .toBe('wss://rancher.example/k8s/clusters/c-1/api/v1/namespaces/a/pods/b/portforward?ports=15000');
  });

  it('connects (GET /version), checks rights, reads the audit inventory and port-forwards, all under the path', async () => {
    const clients = await connectKube({ kubeconfig });
    expect(clients.server).toBe(proxy.url);
    expect(await isLabApi(clients)).toBe(true);
    await checkRights(clients, pathAccessChecks({ deploy: false }));
    const inv = await readInventory(clients, { namespaces: null, rootNamespace: 'istio-system', timeoutMs: 10_000 });
    expect(inv.policy.pods.map((p) => p.name)).toContain('bff-7d9f-abcde');
    const t = await openAdminTransport(clients, { namespace: 'mesh-verify', name: 'bff-7d9f-abcde' });
    try {
      expect(t.via).toBe('port-forward');
      expect((await t.get('/server_info')).status).toBe(200);
    } finally {
      await t.close();
    }
    expect(proxy.seen.length).toBeGreaterThan(3);
    expect(proxy.seen.filter((p) => !p.startsWith(`${PREFIX}/`))).toEqual([]);
  });
});
