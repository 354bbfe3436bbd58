import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
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
import { ADMIN_USER, adminConnections, auditCount, realClusterMissing, startRealCluster, type RealCluster, type RealPod } from '../helpers/real-cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The cluster adapters (src/cluster/) against the real control plane (kube-apiserver, controllers,
 * scheduler, etcd, kwok) and a real Envoy behind the pod's port 15000. What was sent is read from
 * the apiserver's own audit log; what the Envoy saw from its own stats.
 */
describe.skipIf(realClusterMissing !== null)('cluster adapters against the real control plane', () => {
  let c: RealCluster;
  let clients: KubeClients;
  let kubeconfig: string;
  let bff: RealPod;
  const accessLine = '{"start_time":"2025-01-01T00:00:00.000Z","request_id":"r-1","downstream_peer_uri_san":"spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"}';
  const api = (method: string, path: string) => c.api(method, path);
  const get = async (path: string) => { const r = await api('GET', path); return r.status === 200 ? r.body : undefined; };

  beforeAll(async () => {
    c = await startRealCluster();
    kubeconfig = c.adminKubeconfig('lab');
    // Labels the topology's Deployments do not select (their ReplicaSets would adopt the pods).
    [bff] = await Promise.all([
      c.envoyPod({
        namespace: MESH_NAMESPACE, name: 'bff-7d9f-abcde', labels: { app: 'bff-envoy' }, containers: ['bff', 'istio-proxy'], serviceAccount: 'bff',
        nodeId: `sidecar~10.244.0.9~bff-1.${MESH_NAMESPACE}~${MESH_NAMESPACE}.svc.cluster.local`,
        logs: { 'istio-proxy': ['starting envoy', accessLine], bff: ['{"app":"bff"}'] },
      }),
      // Port 15000 forwarded to a port nothing listens on (port 1 of 127.0.0.1).
      c.envoyPod({ namespace: MESH_NAMESPACE, name: 'svc-5c4b-fghij', labels: { app: 'svc-envoy' }, containers: ['svc', 'istio-proxy'], serviceAccount: 'svc', admin: 1 }),
    ]);
    clients = await connectKube({ kubeconfig });
  }, 120_000);
  afterAll(async () => {
    await c?.stop();
  });

  describe('connectKube', () => {
    const tokenKubeconfig = (name: string, server: string, token: string) => {
      const file = join(c.dir, name);
      writeFileSync(file, JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'lab',
        clusters: [{ name: 'lab', cluster: { server, 'certificate-authority-data': Buffer.from(c.cp.caPem).toString('base64') } }],
        users: [{ name: 'u', user: { token } }], contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'u' } }],
      }));
      return file;
    };

    it('connects to the context of the kubeconfig and exposes the server without credentials', () => {
      expect(clients.context).toBe('lab');
      expect(clients.server).toBe(c.cp.server);
    });

    it('an unknown context is exit 4 and lists the known ones', async () => {
      const err = await connectKube({ kubeconfig, context: 'prod' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toBe('context "prod" is not in the kubeconfig (known: lab)');
    });

    it('a missing kubeconfig file is exit 4 naming the file', async () => {
      const err = await connectKube({ kubeconfig: join(c.dir, 'nope') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toBe(`kubeconfig ${join(c.dir, 'nope')} not found`);
    });

    it('rejected credentials are exit 4 (HTTP 401 on /version)', async () => {
      await expect(connectKube({ kubeconfig: tokenKubeconfig('bad-token', c.cp.server, 'wrong-token') })).rejects.toThrow(/rejected our credentials \(HTTP 401 on \/version\)/);
    });

    it('an unreachable API server is exit 4 naming the server', async () => {
      const net = await import('node:net');
      const closed = await new Promise<number>((r) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });
      const err = await connectKube({ kubeconfig: tokenKubeconfig('unreachable', `https://127.0.0.1:${closed}`, 't'), timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(new RegExp(`^Kubernetes API https://127.0.0.1:${closed} \\(context lab\\) is unreachable: .*ECONNREFUSED`));
    });

    it('a missing namespace is named, with the fix (before Istio is installed: no istio-system)', async () => {
      const err = await applyObjects(clients, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'istio-system' } }], { runId: 'r' }).catch((e: unknown) => e);
      expect((err as Error).message).toBe('cannot apply Secret istio-system/s: namespace istio-system does not exist');
      expect((err as EnvironmentError).fix).toBe('install Istio first (mesh-verify up), or check --context');
    });
  });

  describe('admin transport and logs', () => {
    const pod = { namespace: MESH_NAMESPACE, name: 'bff-7d9f-abcde' };
    const forwards = () => auditCount(c.cp, (e) => e.objectRef?.subresource === 'portforward' && e.objectRef.name === pod.name, 'ResponseStarted');

    it('port-forwards to the admin port, with keep-alive GETs answered by Envoy', async () => {
      const before = forwards();
      const connsBefore = await adminConnections(bff.envoy!);
      const t = await openAdminTransport(clients, pod);
      try {
        expect(t.via).toBe('port-forward');
        const info = await t.get('/server_info');
        expect(info.status).toBe(200);
        expect(JSON.parse(info.body).node.id).toContain('bff-1');
        expect(await t.get('/stats?filter=^server\\.live$')).toEqual({ status: 200, body: 'server.live: 1\n' });
        const nope = await t.get('/nope');
        expect(nope.status).toBe(404);
        expect(nope.body).toMatch(/^invalid path\. admin commands are:/);
        // A mutating admin endpoint refuses GET (Envoy: 405).
        expect(await t.get('/healthcheck/fail')).toEqual({ status: 405, body: 'Method GET not allowed, POST required.' });
      } finally {
        await t.close();
      }
      // One stream: the first real connection doubles as the probe and carries the four keep-alive requests.
      expect(forwards() - before).toBe(1);
      // Envoy accepted one admin connection for them (the other one is this read of its stats).
      expect(await adminConnections(bff.envoy!) - connsBefore).toBe(2);
    });

    it('a pod whose admin port refuses: the GET fails with the kubelet error', async () => {
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
      expect(await readPodLog(clients, MESH_NAMESPACE, pod.name, 'bff')).toBe('{"app":"bff"}\n');
      await expect(readPodLog(clients, MESH_NAMESPACE, 'no-such-pod', 'istio-proxy')).rejects.toThrow(/reading the log of mesh-verify\/no-such-pod container istio-proxy failed: HTTP 404/);
    });

    it('checks rights with SelfSubjectAccessReview', async () => {
      expect(await checkRights(clients, pathAccessChecks({ deploy: true }))).toEqual({ warning: null });
    });
  });

  describe('when port-forward is forbidden (RBAC: no pods/portforward, no patch)', () => {
    let denied: KubeClients;
    const pod = { namespace: MESH_NAMESPACE, name: 'bff-7d9f-abcde' };
    beforeAll(async () => {
      const file = await c.serviceAccountKubeconfig('denied', [{
        apiGroups: ['', 'apps', 'networking.istio.io', 'security.istio.io'],
        resources: ['pods', 'pods/log', 'pods/exec', 'services', 'namespaces', 'deployments', 'configmaps', 'serviceaccounts', 'secrets', 'gateways', 'virtualservices', 'destinationrules', 'peerauthentications'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
      }]);
      denied = await connectKube({ kubeconfig: file });
    });

    it('falls back to pilot-agent request via exec, with the same answers and statuses', async () => {
      const t = await openAdminTransport(denied, pod);
      expect(t.via).toBe('exec');
      expect(t.fallbackReason).toMatch(/^port-forward to mesh-verify\/bff-7d9f-abcde:15000 refused \(HTTP 403\)/);
      expect(JSON.parse((await t.get('/server_info')).body).state).toBe('LIVE');
      expect(await t.get('/healthcheck/fail')).toEqual({ status: 405, body: 'Method GET not allowed, POST required.' });
      const execs = c.cp.auditEvents().filter((e) => e.stage === 'ResponseStarted' && e.objectRef?.subresource === 'exec' && e.objectRef.name === pod.name);
      const query = new URL(execs.at(-1)!.requestURI, 'https://x').searchParams;
      expect(query.getAll('command')).toEqual(['pilot-agent', 'request', 'GET', '/healthcheck/fail']);
      expect(query.get('container')).toBe('istio-proxy');
      expect(execs.at(-1)!.user.username).toBe('system:serviceaccount:default:denied');
      await t.close();
    });

    it('without exec allowed, the refusal is exit 4 with the fix', async () => {
      const err = await openAdminTransport(denied, pod, { allowExec: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as EnvironmentError).fix).toBe('grant get and create on pods/portforward, or allow the exec fallback');
    });

    it('preflight names every missing right in one line (port-forward is not one: the exec fallback is allowed)', async () => {
      const err = await checkRights(denied, pathAccessChecks({ deploy: true })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(/^not enough rights on context denied: cannot patch namespaces, /);
      expect((err as Error).message).not.toContain('portforward');
      expect((err as Error).message).not.toContain('\n');
    });

    it('apply refused by RBAC is exit 4 naming the object', async () => {
      const err = await applyObjects(denied, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }], { runId: 'r' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(/^not allowed to apply Namespace x: HTTP 403: /);
    });
  });

  describe('apply, wait, delete', () => {
    let credential: Awaited<ReturnType<typeof createGatewayCredential>>;
    beforeAll(async () => {
      // What every real cluster with Istio has before mesh-verify applies anything: istio-system and Istio's CRDs.
      await c.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: GATEWAY_NAMESPACE } }]);
      [credential] = await Promise.all([createGatewayCredential(), c.installIstioCrds()]);
    }, 90_000);

    const LISTS: Record<string, string> = {
      Namespace: '/api/v1/namespaces', ServiceAccount: '/api/v1/serviceaccounts', Service: '/api/v1/services', ConfigMap: '/api/v1/configmaps', Secret: '/api/v1/secrets',
      Deployment: '/apis/apps/v1/deployments', Gateway: '/apis/networking.istio.io/v1/gateways', VirtualService: '/apis/networking.istio.io/v1/virtualservices',
      DestinationRule: '/apis/networking.istio.io/v1/destinationrules', PeerAuthentication: '/apis/security.istio.io/v1/peerauthentications',
    };

    it('server-side applies the topology with field manager mesh-verify; applying twice changes nothing', async () => {
      const objects = buildTopology({ runId: 'run-a', gatewayCredential: credential.secret });
      const before = c.cp.auditEvents().length;
      const refs = await applyObjects(clients, objects, { runId: 'run-a' });
      expect(refs).toHaveLength(objects.length);
      expect(refs[0]).toMatchObject({ kind: 'Namespace', name: MESH_NAMESPACE });
      const patches = c.cp.auditEvents().slice(before).filter((e) => e.stage === 'ResponseComplete' && e.verb === 'patch' && e.user.username === ADMIN_USER);
      expect(patches).toHaveLength(objects.length);
      for (const p of patches) {
        const q = new URL(p.requestURI, 'https://x').searchParams;
        expect(q.get('fieldManager')).toBe('mesh-verify');
        expect(q.get('force')).toBe('true');
      }

      const dep = await get(`/apis/apps/v1/namespaces/${MESH_NAMESPACE}/deployments/bff`);
      expect(dep.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'mesh-verify', [LABEL_RUN]: 'run-a' });
      expect(dep.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`)).toContain('mesh-verify/Apply');
      // What mesh-verify wrote must be unchanged: every object's resourceVersion (the controllers
      // write the Deployments' status, so for those: labels, spec and mesh-verify's own fields).
      const snapshot = async () => JSON.stringify(await Promise.all(Object.entries(LISTS).map(async ([kind, path]) => {
        const items = ((await get(`${path}?labelSelector=app.kubernetes.io/managed-by%3Dmesh-verify`))?.items ?? []) as any[];
        return items.map((o) => [kind, o.metadata.namespace, o.metadata.name, kind === 'Deployment'
          ? { labels: o.metadata.labels, spec: o.spec, mine: o.metadata.managedFields.filter((m: any) => m.manager === 'mesh-verify').map((m: any) => m.fieldsV1) }
          : o.metadata.resourceVersion]);
      })));
      const first = await snapshot();
      expect(JSON.parse(first).flat()).toHaveLength(objects.length);
      const again = await applyObjects(clients, objects, { runId: 'run-a' });
      expect(again.map((r) => r.generation)).toEqual(refs.map((r) => r.generation));
      expect(await snapshot()).toBe(first);
      expect((await get(`/api/v1/namespaces/${GATEWAY_NAMESPACE}/secrets/${GATEWAY_CREDENTIAL}`)).type).toBe('kubernetes.io/tls');
    });

    it('kubectl sees what apply created (skipped without kubectl)', async (ctx) => {
      if (!existsSync('/usr/bin/kubectl') && !process.env.PATH?.split(':').some((d) => existsSync(join(d, 'kubectl')))) ctx.skip('kubectl is not installed');
      const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, '-n', MESH_NAMESPACE, 'get', 'deployments',
        '-l', 'app.kubernetes.io/managed-by=mesh-verify', '-o', 'jsonpath={.items[*].metadata.name}'], { timeout: 15_000 });
      expect(stdout.split(' ').sort()).toEqual(['bff', 'svc']);
    });

    it('waits for the rollouts (real ReplicaSets, kwok-run pods) and for ready pods', async () => {
      const refs = await applyObjects(clients, buildTopology({ runId: 'run-a', gatewayCredential: credential.secret }), { runId: 'run-a' });
      await waitForRollouts(clients, refs, { timeoutMs: 60_000, pollMs: 250 });
      // Nothing injects a sidecar here: the Deployment's pod has its app container only.
      const pods = await waitForPodsReady(clients, MESH_NAMESPACE, 'app=bff', { requireSidecar: false, timeoutMs: 30_000, pollMs: 250 });
      expect(pods.map((p) => p.metadata?.name)).toEqual([expect.stringMatching(/^bff-[a-z0-9]+-[a-z0-9]{5}$/)]);
      expect(pods[0]!.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
      const withSidecar = await waitForPodsReady(clients, MESH_NAMESPACE, 'app=bff-envoy', { requireSidecar: true, timeoutMs: 5000, pollMs: 50 });
      expect(withSidecar.map((p) => p.metadata?.name)).toEqual(['bff-7d9f-abcde']);
    }, 90_000);

    it('names the pod and the reason when a sidecar is required but missing', async () => {
      // The plaintext caller of permissive-svc has no sidecar.
      await applyObjects(clients, buildTopology({ runId: 'run-a', scenario: 'permissive-svc', gatewayCredential: credential.secret }), { runId: 'run-a' });
      const ok = await waitForPodsReady(clients, MESH_NAMESPACE, 'mesh-verify.io/role=plaintext-caller', { requireSidecar: false, timeoutMs: 60_000, pollMs: 250 });
      expect(ok).toHaveLength(1);
      const err = await waitForPodsReady(clients, MESH_NAMESPACE, 'mesh-verify.io/role=plaintext-caller', { requireSidecar: true, timeoutMs: 200, pollMs: 50 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(/^pods mesh-verify.io\/role=plaintext-caller in mesh-verify not ready after 0 s: pod plaintext-caller-\S+ has no istio-proxy container/);
    }, 90_000);

    it('a Deployment that does not exist times out naming it', async () => {
      await expect(waitForRollouts(clients, [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: MESH_NAMESPACE, name: 'ghost' }], { timeoutMs: 100, pollMs: 20 }))
        .rejects.toThrow('Deployment mesh-verify/ghost is not ready after 0 s: Deployment mesh-verify/ghost does not exist');
    });

    it('detects Istio from istiod pods and resolves the entry from the gateway Service', async () => {
      expect(await detectIstio(clients)).toBeNull();
      await c.apply([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'istiod', namespace: 'istio-system' }, spec: {
        selector: { matchLabels: { app: 'istiod' } },
        template: { metadata: { labels: { app: 'istiod', 'istio.io/rev': 'default' } }, spec: { containers: [{ name: 'discovery', image: 'docker.io/istio/pilot:1.27.1' }] } },
      } }]);
      // The ReplicaSet controller creates the pod, the scheduler places it, kwok runs it.
      let istio = null;
      for (let i = 0; i < 240 && !istio; i += 1) { istio = await detectIstio(clients); if (!istio) await sleep(250); }
      expect(istio).toEqual({ version: '1.27.1', revision: 'default' });
      await expect(resolveEntry(clients)).rejects.toThrow('ingress gateway Service istio-system/istio-ingressgateway not found');
      await c.apply([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'istio-ingressgateway', namespace: 'istio-system' }, spec: {
        type: 'NodePort', selector: { istio: 'ingressgateway' }, ports: [{ name: 'https', port: 443, targetPort: 8443, nodePort: 30443 }],
      } }]);
      expect(await resolveEntry(clients)).toEqual({ address: '127.0.0.1', port: 9443, kind: 'nodeport' });
    }, 90_000);

    it('deletes what one run labelled, namespaces last, and leaves other runs alone', async () => {
      await applyObjects(clients, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-run', namespace: 'default' }, data: { a: 'b' } } as any], { runId: 'run-b' });
      const before = c.cp.auditEvents().length;
      const deleted = await deleteManaged(clients, { runId: 'run-a' });
      expect(deleted.map((d) => d.kind)).toEqual(expect.arrayContaining(['Deployment', 'Service', 'ConfigMap', 'Secret', 'Gateway', 'PeerAuthentication', 'Namespace']));
      expect(deleted.at(-1)).toMatchObject({ kind: 'Namespace', name: MESH_NAMESPACE });
      const deletes = c.cp.auditEvents().slice(before).filter((e) => e.stage === 'ResponseComplete' && e.verb === 'delete' && e.user.username === ADMIN_USER);
      expect(deletes.at(-1)?.objectRef?.resource).toBe('namespaces');
      expect(await get(`/api/v1/namespaces/${GATEWAY_NAMESPACE}/secrets/${GATEWAY_CREDENTIAL}`)).toBeUndefined();
      expect(await get(`/api/v1/namespaces/default/configmaps/other-run`)).toBeDefined();
      // The namespace is Terminating until the namespace controller has removed what is in it.
      for (let i = 0; i < 240 && (await get(`/api/v1/namespaces/${MESH_NAMESPACE}`)); i += 1) await sleep(250);
      expect(await get(`/api/v1/namespaces/${MESH_NAMESPACE}`)).toBeUndefined();
      expect(await get(`/apis/apps/v1/namespaces/${MESH_NAMESPACE}/deployments/plaintext-caller`)).toBeUndefined();
      expect(await deleteManaged(clients, { runId: 'run-a' })).toEqual([]);
      const rest = await deleteManaged(clients, {});
      expect(rest.map((d) => `${d.kind}/${d.name}`)).toEqual(['ConfigMap/other-run']);
    }, 90_000);
  });
});
