import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PassThrough, Writable } from 'node:stream';
import {
  CoreV1Api, Exec, KubeConfig, KubernetesObjectApi, Log, PatchStrategy, PortForward, Watch, type KubernetesObject, type V1Status,
} from '@kubernetes/client-node';
import { startKubeApi, type KubeApi } from '../../../src/lab/kube/server.js';
import { startEnvoyPods, type EnvoyPods } from './envoy-pods.js';

let proxies: EnvoyPods;
let api: KubeApi;
let kc: KubeConfig;

beforeAll(async () => {
  proxies = await startEnvoyPods([
    { namespace: 'mesh-verify', name: 'bff-5d8c7f6b9d-abcde', app: 'bff' },
    { namespace: 'mesh-verify', name: 'svc-6f9b8c7d5c-fghij', app: 'svc' },
  ]);
  api = await startKubeApi({ pods: proxies.pods });
  api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mesh-verify', labels: { 'istio-injection': 'enabled' } } });
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml());
});
afterAll(async () => {
  await api?.close();
  await proxies?.stop();
});

function collect(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({ write(c, _e, cb) { chunks.push(Buffer.from(c)); cb(); } });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Wrap client-node's PortForward in a local TCP server, as the collector does. */
async function forwardServer(pod: string, port: number): Promise<{ server: Server; port: number }> {
  const pf = new PortForward(kc);
  const server = createServer();
  server.removeAllListeners('request');
  const net = await import('node:net');
  const tcp = net.createServer((socket) => { void pf.portForward('mesh-verify', pod, [port], socket, null, socket).catch(() => socket.destroy()); });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  return { server: tcp as unknown as Server, port: (tcp.address() as { port: number }).port };
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the API double, driven by @kubernetes/client-node', () => {
  it('lists pods with istio-proxy containers, labels, IPs and ready statuses (label selector honoured)', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const all = await core.listNamespacedPod({ namespace: 'mesh-verify' });
    expect(all.items.map((p) => p.metadata?.name).sort()).toEqual(['bff-5d8c7f6b9d-abcde', 'svc-6f9b8c7d5c-fghij']);
    const svc = await core.listNamespacedPod({ namespace: 'mesh-verify', labelSelector: 'app=svc' });
    expect(svc.items).toHaveLength(1);
    const pod = svc.items[0];
    // Istio 1.30.3 on Kubernetes 1.33 injects a native sidecar: istio-proxy is an init container with
    // restartPolicy Always (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['svc']);
    expect(pod.spec?.initContainers?.map((c) => [c.name, c.restartPolicy])).toEqual([['istio-proxy', 'Always']]);
    expect(pod.status?.initContainerStatuses?.every((c) => c.ready)).toBe(true);
    expect(pod.status?.podIP).toBe('10.244.0.11');
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.containerStatuses?.every((c) => c.ready)).toBe(true);
    expect(pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container']).toBe('svc');
  });

  it('server-side apply creates, merges, records managedFields, removes dropped fields and reports conflicts', async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const pa = (labels: Record<string, string>, mode: string): KubernetesObject & { spec: unknown } => ({
      apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'svc-mode', namespace: 'mesh-verify', labels },
      spec: { selector: { matchLabels: { app: 'svc' } }, mtls: { mode } },
    });
    const created = await objects.patch(pa({ a: '1', b: '2' }, 'STRICT'), undefined, undefined, 'test-a', true, PatchStrategy.ServerSideApply);
    expect(created.metadata?.managedFields?.[0]).toMatchObject({ manager: 'test-a', operation: 'Apply' });
    const merged = await objects.patch(pa({ a: '1' }, 'STRICT'), undefined, undefined, 'test-a', true, PatchStrategy.ServerSideApply);
    expect(merged.metadata?.labels).toEqual({ a: '1' }); // b was applied by test-a before and is no longer
    await expect(objects.patch(pa({}, 'PERMISSIVE'), undefined, undefined, 'test-b', false, PatchStrategy.ServerSideApply))
      .rejects.toMatchObject({ code: 409 });
    const forced = await objects.patch(pa({}, 'PERMISSIVE'), undefined, undefined, 'test-b', true, PatchStrategy.ServerSideApply);
    expect((forced as { spec: { mtls: { mode: string } } }).spec.mtls.mode).toBe('PERMISSIVE');
    expect(forced.metadata?.managedFields?.map((m) => m.manager).sort()).toEqual(['test-a', 'test-b']);
    const stored = api.store.get('PeerAuthentication', 'mesh-verify', 'svc-mode') as unknown as { spec: { mtls: { mode: string } } };
    expect(stored.spec.mtls.mode).toBe('PERMISSIVE');
  });

  it('watches: ADDED for what exists, then MODIFIED and DELETED as objects change', async () => {
    const events: string[] = [];
    const seenModified = new Promise<void>((resolve) => {
      void new Watch(kc).watch('/apis/security.istio.io/v1/namespaces/mesh-verify/peerauthentications', { labelSelector: 'watch=me' }, (type, obj) => {
        events.push(`${type} ${obj.metadata.name} ${obj.spec?.mtls?.mode}`);
        if (type === 'DELETED') resolve();
      }, () => undefined).then((ctl) => { controllers.push(ctl); });
    });
    const controllers: AbortController[] = [];
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const body = (mode: string) => ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'watched', namespace: 'mesh-verify', labels: { watch: 'me' } }, spec: { mtls: { mode } } });
    await new Promise((r) => setTimeout(r, 50));
    await objects.patch(body('STRICT'), undefined, undefined, 'w', true, PatchStrategy.ServerSideApply);
    await objects.patch(body('PERMISSIVE'), undefined, undefined, 'w', true, PatchStrategy.ServerSideApply);
    await objects.delete(body('PERMISSIVE'));
    await seenModified;
    for (const c of controllers) c.abort();
    expect(events).toEqual(['ADDED watched STRICT', 'MODIFIED watched PERMISSIVE', 'DELETED watched PERMISSIVE']);
  });

  it('reads pod logs per container with tailLines, and refuses a missing container name', async () => {
    const out = collect();
    await new Log(kc).log('mesh-verify', 'bff-5d8c7f6b9d-abcde', 'istio-proxy', out.stream, { tailLines: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(out.text()).toContain('req-bff-1');
    expect(out.text()).not.toContain('old-bff');
    const core = kc.makeApiClient(CoreV1Api);
    // Without a container name the API server takes the pod's only container (a native sidecar is an
    // init container); a name that is no container of the pod is refused.
    expect(await core.readNamespacedPodLog({ name: 'bff-5d8c7f6b9d-abcde', namespace: 'mesh-verify' })).not.toContain('req-bff-1');
    await expect(core.readNamespacedPodLog({ name: 'bff-5d8c7f6b9d-abcde', namespace: 'mesh-verify', container: 'nope' })).rejects.toMatchObject({ code: 400 });
    const since = await core.readNamespacedPodLog({ name: 'bff-5d8c7f6b9d-abcde', namespace: 'mesh-verify', container: 'istio-proxy', sinceSeconds: 600 });
    expect(since).toContain('req-bff-1');
    expect(since).not.toContain('old-bff');
  });

  it('port-forwards to each proxy admin port over the WebSocket channel protocol', async () => {
    for (const pod of ['bff-5d8c7f6b9d-abcde', 'svc-6f9b8c7d5c-fghij']) {
      const fwd = await forwardServer(pod, 15000);
      try {
        const res = await httpGet(fwd.port, '/server_info');
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body)).toMatchObject({ state: 'LIVE' });
        expect(JSON.parse(res.body).node.id).toContain(pod);
      } finally {
        await new Promise<void>((r) => fwd.server.close(() => r()));
      }
    }
    const pf = api.requests.filter((r) => r.subresource === 'portforward');
    expect(pf.length).toBeGreaterThanOrEqual(2);
    // A WebSocket upgrade is a GET: kube-apiserver (before 1.35) authorizes it as `get`
    // (k8s.io/apiserver pkg/endpoints/request/requestinfo.go).
    expect(pf.every((r) => r.code === 101 && r.method === 'GET' && r.verb === 'get')).toBe(true);
  });

  it('execs `pilot-agent request GET` in istio-proxy, with the exit status on the error channel', async () => {
    const out = collect();
    const err = collect();
    const status = await new Promise<V1Status>((resolve, reject) => {
      void new Exec(kc).exec('mesh-verify', 'svc-6f9b8c7d5c-fghij', 'istio-proxy', ['pilot-agent', 'request', 'GET', 'server_info'], out.stream, err.stream, null, false, resolve).catch(reject);
    });
    expect(status.status).toBe('Success');
    expect(JSON.parse(out.text())).toMatchObject({ state: 'LIVE' });
    const bad = await new Promise<V1Status>((resolve, reject) => {
      void new Exec(kc).exec('mesh-verify', 'svc-6f9b8c7d5c-fghij', 'istio-proxy', ['sh', '-c', 'true'], null, null, null, false, resolve).catch(reject);
    });
    expect(bad).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '127' }] } });
  });

  it('answers unknown paths and resources with the Kubernetes 404 Status object', async () => {
    const get = (path: string) => new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const u = new URL(path, api.url);
      const req = httpsRequest({ host: u.hostname, port: u.port, path: u.pathname, ca: api.caPem, headers: { authorization: `Bearer ${api.token}` } }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end();
    });
    for (const p of ['/nope', '/apis/example.com/v1/widgets', '/api/v1/namespaces/mesh-verify/widgets']) {
      const r = await get(p);
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
    }
    const missing = await get('/api/v1/namespaces/mesh-verify/pods/none');
    expect(missing.body).toMatchObject({ reason: 'NotFound', message: 'pods "none" not found', details: { name: 'none', kind: 'pods' } });
  });
});

describe('access options', () => {
  it('denyPortForward answers 403 Forbidden before the upgrade; exec still works', async () => {
    const denied = await startKubeApi({ pods: proxies.pods, denyPortForward: true });
    try {
      denied.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mesh-verify' } });
      const k = new KubeConfig();
      k.loadFromString(denied.kubeconfigYaml());
      const sink = new PassThrough();
      await expect(new PortForward(k).portForward('mesh-verify', 'bff-5d8c7f6b9d-abcde', [15000], sink, null, new PassThrough())).rejects.toBeTruthy();
      const rec = denied.requests.find((r) => r.subresource === 'portforward');
      expect(rec?.code).toBe(403);
      const status = await new Promise<V1Status>((resolve, reject) => {
        void new Exec(k).exec('mesh-verify', 'bff-5d8c7f6b9d-abcde', 'istio-proxy', ['pilot-agent', 'request', 'GET', 'ready'], new PassThrough(), null, null, false, resolve).catch(reject);
      });
      expect(status.status).toBe('Success');
    } finally {
      await denied.close();
    }
  });

  it('denyVerbs refuses writes with 403 and records that reads were all a client did', async () => {
    const ro = await startKubeApi({ pods: proxies.pods, denyVerbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] });
    try {
      const k = new KubeConfig();
      k.loadFromString(ro.kubeconfigYaml());
      const core = k.makeApiClient(CoreV1Api);
      await expect(core.createNamespace({ body: { metadata: { name: 'x' } } })).rejects.toMatchObject({ code: 403 });
      await core.listPodForAllNamespaces();
      expect(ro.requests.map((r) => `${r.verb} ${r.resource} ${r.code}`)).toEqual(['create namespaces 403', 'list pods 200']);
    } finally {
      await ro.close();
    }
  });
});
