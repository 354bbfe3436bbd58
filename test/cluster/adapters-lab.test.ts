import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/core/errors.js';
import { connectKube, type KubeClients } from '../../src/cluster/kube-client.js';
import { applyObjects } from '../../src/cluster/apply.js';
import { waitForPodsReady, waitForRollouts } from '../../src/cluster/wait.js';
import { deleteManaged } from '../../src/cluster/cleanup.js';
import { openAdminTransport } from '../../src/cluster/admin-transport.js';
import { readPodLog } from '../../src/cluster/pod-logs.js';
import { checkRights, pathAccessChecks } from '../../src/cluster/preflight.js';
import { detectIstio } from '../../src/cluster/istioctl.js';
import { resolveEntry } from '../../src/cluster/entry.js';
import { buildTopology } from '../../src/topology/manifests.js';
import { createGatewayCredential } from '../../src/topology/credentials.js';
import { LABEL_RUN } from '../../src/topology/managed-labels.js';
import { GATEWAY_CREDENTIAL, GATEWAY_NAMESPACE, MESH_NAMESPACE } from '../../src/topology/reference.js';
import { labPod, loadStartKubeApi, startFakeAdmin, tempDir } from './lab-api.js';

type KubeApi = Awaited<ReturnType<Awaited<ReturnType<typeof loadStartKubeApi>>>>;

describe('cluster adapters against the lab Kubernetes API double', () => {
  let api: KubeApi;
  let clients: KubeClients;
  let admin: Awaited<ReturnType<typeof startFakeAdmin>>;
  let kubeconfig: string;
  const tmp = tempDir();
  const accessLine = '{"start_time":"2025-01-01T00:00:00.000Z","request_id":"r-1","downstream_peer_uri_san":"spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"}';

  beforeAll(async () => {
    admin = await startFakeAdmin('bff-1');
    const startKubeApi = await loadStartKubeApi();
    api = await startKubeApi({
      pods: () => [labPod('bff-7d9f-abcde', admin.port, { 'istio-proxy': ['starting envoy', accessLine], bff: ['{"app":"bff"}'] }), labPod('svc-5c4b-fghij', null)],
    });
    kubeconfig = join(tmp.dir, 'kubeconfig');
    await api.writeKubeconfig(kubeconfig, 'lab');
    // What every real cluster (with Istio) has before mesh-verify applies anything.
    for (const name of ['default', GATEWAY_NAMESPACE]) api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as any);
    clients = await connectKube({ kubeconfig });
  });
  afterAll(async () => {
    await api?.close();
    await admin?.close();
    tmp.remove();
  });

  describe('connectKube', () => {
    it('connects to the context of the kubeconfig and exposes the server without credentials', () => {
      expect(clients.context).toBe('lab');
      expect(clients.server).toBe(api.url);
    });

    it('an unknown context is exit 4 and lists the known ones', async () => {
      const err = await connectKube({ kubeconfig, context: 'prod' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toBe('context "prod" is not in the kubeconfig (known: lab)');
    });

    it('a missing kubeconfig file is exit 4 naming the file', async () => {
      const err = await connectKube({ kubeconfig: join(tmp.dir, 'nope') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toBe(`kubeconfig ${join(tmp.dir, 'nope')} not found`);
    });

    it('rejected credentials are exit 4 (HTTP 401 on /version)', async () => {
      const bad = join(tmp.dir, 'bad-token');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(bad, api.kubeconfigYaml('lab').replace(api.token, 'wrong-token'));
      await expect(connectKube({ kubeconfig: bad })).rejects.toThrow(/rejected our credentials \(HTTP 401 on \/version\)/);
    });

    it('an unreachable API server is exit 4 naming the server', async () => {
      const net = await import('node:net');
      const closed = await new Promise<number>((r) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });
      const file = join(tmp.dir, 'unreachable');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, api.kubeconfigYaml('lab').replace(api.url, `https://127.0.0.1:${closed}`));
      const err = await connectKube({ kubeconfig: file, timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(new RegExp(`^Kubernetes API https://127.0.0.1:${closed} \\(context lab\\) is unreachable: .*ECONNREFUSED`));
    });
  });

  describe('apply, wait, delete', () => {
    let credential: Awaited<ReturnType<typeof createGatewayCredential>>;
    beforeAll(async () => { credential = await createGatewayCredential(); });

    it('server-side applies the topology with field manager mesh-verify; applying twice changes nothing', async () => {
      const objects = buildTopology({ runId: 'run-a', gatewayCredential: credential.secret });
      const before = api.requests.length;
      const refs = await applyObjects(clients, objects, { runId: 'run-a' });
      expect(refs).toHaveLength(objects.length);
      expect(refs[0]).toMatchObject({ kind: 'Namespace', name: MESH_NAMESPACE });
      const patches = api.requests.slice(before).filter((r) => r.method === 'PATCH');
      expect(patches).toHaveLength(objects.length);
      for (const p of patches) expect(new URLSearchParams(p.query).get('fieldManager')).toBe('mesh-verify');
      for (const p of patches) expect(new URLSearchParams(p.query).get('force')).toBe('true');

      const dep = api.store.get('Deployment', MESH_NAMESPACE, 'bff') as any;
      expect(dep.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'mesh-verify', [LABEL_RUN]: 'run-a' });
      expect(dep.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`)).toContain('mesh-verify/Apply');
      // Everything but bookkeeping (resourceVersion, managedFields timestamps) must be unchanged.
      const snapshot = () => JSON.stringify(['Namespace', 'Deployment', 'Service', 'ConfigMap', 'Secret', 'Gateway', 'VirtualService', 'DestinationRule', 'PeerAuthentication']
        .flatMap((k) => api.store.list(k) as any[])
        .map((o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined, managedFields: o.metadata.managedFields?.map((m: any) => ({ ...m, time: undefined })) } })));
      const first = snapshot();
      const again = await applyObjects(clients, objects, { runId: 'run-a' });
      expect(again.map((r) => r.generation)).toEqual(refs.map((r) => r.generation));
      expect(snapshot()).toBe(first);
      expect((api.store.get('Secret', GATEWAY_NAMESPACE, GATEWAY_CREDENTIAL) as any).type).toBe('kubernetes.io/tls');
    });

    it('kubectl sees what apply created (skipped without kubectl)', async (ctx) => {
      if (!existsSync('/usr/bin/kubectl') && !process.env.PATH?.split(':').some((d) => existsSync(join(d, 'kubectl')))) ctx.skip('kubectl is not installed');
      const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, '-n', MESH_NAMESPACE, 'get', 'deployments',
        '-l', 'app.kubernetes.io/managed-by=mesh-verify', '-o', 'jsonpath={.items[*].metadata.name}'], { timeout: 15_000 });
      expect(stdout.split(' ').sort()).toEqual(['bff', 'svc']);
    });

    it('waits for the rollouts and for ready pods', async () => {
      const refs = await applyObjects(clients, buildTopology({ runId: 'run-a', gatewayCredential: credential.secret }), { runId: 'run-a' });
      await waitForRollouts(clients, refs, { timeoutMs: 5000, pollMs: 50 });
      const pods = await waitForPodsReady(clients, MESH_NAMESPACE, 'app=bff', { requireSidecar: true, timeoutMs: 5000, pollMs: 50 });
      expect(pods.map((p) => p.metadata?.name)).toEqual(['bff-7d9f-abcde']);
    });

    it('names the pod and the reason when a sidecar is required but missing', async () => {
      // The plaintext caller of permissive-svc has no sidecar: the lab simulates its pod from the Deployment.
      await applyObjects(clients, buildTopology({ runId: 'run-a', scenario: 'permissive-svc', gatewayCredential: credential.secret }), { runId: 'run-a' });
      const err = await waitForPodsReady(clients, MESH_NAMESPACE, 'mesh-verify.io/role=plaintext-caller', { requireSidecar: true, timeoutMs: 200, pollMs: 50 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(/^pods mesh-verify.io\/role=plaintext-caller in mesh-verify not ready after 0 s: pod plaintext-caller-\S+ has no istio-proxy container/);
      const ok = await waitForPodsReady(clients, MESH_NAMESPACE, 'mesh-verify.io/role=plaintext-caller', { requireSidecar: false, timeoutMs: 2000, pollMs: 50 });
      expect(ok).toHaveLength(1);
    });

    it('a Deployment that does not exist times out naming it', async () => {
      await expect(waitForRollouts(clients, [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: MESH_NAMESPACE, name: 'ghost' }], { timeoutMs: 100, pollMs: 20 }))
        .rejects.toThrow('Deployment mesh-verify/ghost is not ready after 0 s: Deployment mesh-verify/ghost does not exist');
    });

    it('detects Istio from istiod pods and resolves the entry from the gateway Service', async () => {
      expect(await detectIstio(clients)).toBeNull();
      api.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'istiod', namespace: 'istio-system' }, spec: {
        selector: { matchLabels: { app: 'istiod' } },
        template: { metadata: { labels: { app: 'istiod', 'istio.io/rev': 'default' } }, spec: { containers: [{ name: 'discovery', image: 'docker.io/istio/pilot:1.27.1' }] } },
      } } as any);
      expect(await detectIstio(clients)).toEqual({ version: '1.27.1', revision: 'default' });
      await expect(resolveEntry(clients)).rejects.toThrow('ingress gateway Service istio-system/istio-ingressgateway not found');
      api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'istio-ingressgateway', namespace: 'istio-system' }, spec: {
        type: 'NodePort', selector: { istio: 'ingressgateway' }, ports: [{ name: 'https', port: 443, targetPort: 8443, nodePort: 30443 }],
      } } as any);
      expect(await resolveEntry(clients)).toEqual({ address: '127.0.0.1', port: 9443, kind: 'nodeport' });
    });

    it('deletes what one run labelled, namespaces last, and leaves other runs alone', async () => {
      await applyObjects(clients, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-run', namespace: 'default' }, data: { a: 'b' } } as any], { runId: 'run-b' });
      const before = api.requests.length;
      const deleted = await deleteManaged(clients, { runId: 'run-a' });
      expect(deleted.map((d) => d.kind)).toEqual(expect.arrayContaining(['Deployment', 'Service', 'ConfigMap', 'Secret', 'Gateway', 'PeerAuthentication', 'Namespace']));
      expect(deleted.at(-1)).toMatchObject({ kind: 'Namespace', name: MESH_NAMESPACE });
      const deletes = api.requests.slice(before).filter((r) => r.method === 'DELETE');
      expect(deletes.at(-1)?.resource).toBe('namespaces');
      expect(api.store.get('Secret', GATEWAY_NAMESPACE, GATEWAY_CREDENTIAL)).toBeUndefined();
      expect(api.store.get('Deployment', MESH_NAMESPACE, 'plaintext-caller')).toBeUndefined();
      expect(api.store.get('ConfigMap', 'default', 'other-run')).toBeDefined();
      expect(await deleteManaged(clients, { runId: 'run-a' })).toEqual([]);
      const rest = await deleteManaged(clients, {});
      expect(rest.map((d) => `${d.kind}/${d.name}`)).toEqual(['ConfigMap/other-run']);
    });
  });

  describe('admin transport and logs', () => {
    const pod = { namespace: MESH_NAMESPACE, name: 'bff-7d9f-abcde' };

    it('port-forwards to the admin port, with keep-alive GETs answered by Envoy', async () => {
      const before = api.requests.filter((r) => r.subresource === 'portforward').length;
      const connsBefore = admin.connections();
      const t = await openAdminTransport(clients, pod);
      try {
        expect(t.via).toBe('port-forward');
        const info = await t.get('/server_info');
        expect(info.status).toBe(200);
        expect(JSON.parse(info.body).node.id).toContain('bff-1');
        expect(await t.get('/stats?filter=ssl')).toEqual({ status: 200, body: 'listener.0.0.0.0_15006.ssl.handshake: 3\n' });
        expect((await t.get('/nope')).status).toBe(404);
        expect((await t.get('/unavailable')).status).toBe(503);
      } finally {
        await t.close();
      }
      // One stream: the first real connection doubles as the probe and carries the four keep-alive requests.
      expect(api.requests.filter((r) => r.subresource === 'portforward').length - before).toBe(1);
      expect(admin.connections() - connsBefore).toBe(1);
    });

    it('a pod without the admin port: the GET fails with the kubelet error', async () => {
      const t = await openAdminTransport(clients, { namespace: MESH_NAMESPACE, name: 'svc-5c4b-fghij' });
      try {
        await expect(t.get('/server_info', { timeoutMs: 3000 })).rejects.toThrow(/GET \/server_info on mesh-verify\/svc-5c4b-fghij:15000 via port-forward failed: .*connection refused/);
      } finally {
        await t.close();
      }
    });

    it('reads a container log, and its tail', async () => {
      expect(await readPodLog(clients, MESH_NAMESPACE, pod.name, 'istio-proxy')).toBe(`starting envoy\n${accessLine}\n`);
      expect(await readPodLog(clients, MESH_NAMESPACE, pod.name, 'istio-proxy', { tailLines: 1 })).toBe(`${accessLine}\n`);
      await expect(readPodLog(clients, MESH_NAMESPACE, 'no-such-pod', 'istio-proxy')).rejects.toThrow(/reading the log of mesh-verify\/no-such-pod container istio-proxy failed: HTTP 404/);
    });

    it('checks rights with SelfSubjectAccessReview', async () => {
      expect(await checkRights(clients, pathAccessChecks({ deploy: true }))).toEqual({ warning: null });
    });
  });

  describe('when port-forward is forbidden', () => {
    let denied: KubeApi;
    let deniedClients: KubeClients;
    let clients: KubeClients;
    beforeAll(async () => {
      denied = await (await loadStartKubeApi())({ pods: () => [labPod('bff-7d9f-abcde', admin.port)], denyPortForward: true, denyVerbs: ['patch'] });
      const file = join(tmp.dir, 'denied');
      await denied.writeKubeconfig(file, 'denied');
      deniedClients = await connectKube({ kubeconfig: file });
      const open = await (await loadStartKubeApi())({});
      const file2 = join(tmp.dir, 'empty');
      await open.writeKubeconfig(file2, 'empty');
      clients = await connectKube({ kubeconfig: file2 });
      closeEmpty = () => open.close();
    });
    let closeEmpty = async () => {};
    afterAll(async () => { await closeEmpty(); });
    afterAll(async () => { await denied?.close(); });

    it('falls back to pilot-agent request via exec, with the same answers and statuses', async () => {
      const t = await openAdminTransport(deniedClients, { namespace: MESH_NAMESPACE, name: 'bff-7d9f-abcde' });
      expect(t.via).toBe('exec');
      expect(t.fallbackReason).toMatch(/^port-forward to mesh-verify\/bff-7d9f-abcde:15000 refused \(HTTP 403\)/);
      expect(JSON.parse((await t.get('/server_info')).body).state).toBe('LIVE');
      expect(await t.get('/unavailable')).toEqual({ status: 503, body: 'draining' });
      const execs = denied.requests.filter((r) => r.subresource === 'exec');
      expect(new URLSearchParams(execs.at(-1)!.query).getAll('command')).toEqual(['pilot-agent', 'request', 'GET', '/unavailable']);
      expect(new URLSearchParams(execs.at(-1)!.query).get('container')).toBe('istio-proxy');
      await t.close();
    });

    it('without exec allowed, the refusal is exit 4 with the fix', async () => {
      const err = await openAdminTransport(deniedClients, { namespace: MESH_NAMESPACE, name: 'bff-7d9f-abcde' }, { allowExec: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as EnvironmentError).fix).toBe('grant get and create on pods/portforward, or allow the exec fallback');
    });

    it('preflight names every missing right in one line (port-forward is not one: the exec fallback is allowed)', async () => {
      const err = await checkRights(deniedClients, pathAccessChecks({ deploy: true })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(/^not enough rights on context denied: cannot patch namespaces, /);
      expect((err as Error).message).not.toContain('portforward');
      expect((err as Error).message).not.toContain('\n');
    });

    it('a missing namespace is named, with the fix', async () => {
      const err = await applyObjects(clients, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'istio-system' } }], { runId: 'r' }).catch((e: unknown) => e);
      expect((err as Error).message).toBe('cannot apply Secret istio-system/s: namespace istio-system does not exist');
      expect((err as EnvironmentError).fix).toBe('install Istio first (mesh-verify up), or check --context');
    });

    it('apply refused by RBAC is exit 4 naming the object', async () => {
      const err = await applyObjects(deniedClients, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }], { runId: 'r' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(/^not allowed to apply Namespace x: HTTP 403: /);
    });
  });
});
