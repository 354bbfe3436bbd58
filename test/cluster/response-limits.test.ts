import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/core/errors.js';
import { openAdminTransport } from '../../src/cluster/admin-transport.js';
import { DeadlineError, ResponseTooLargeError, apiResponseLimit, boundedRequest } from '../../src/cluster/bounded-http.js';
import { connectKube, type KubeClients } from '../../src/cluster/kube-client.js';
import { DEFAULT_LIMITS, formatBytes, limit } from '../../src/cluster/limits.js';
import { readPodLog } from '../../src/cluster/pod-logs.js';
import { readInventory } from '../../src/collect/audit/inventory.js';
import { realClusterMissing, startRealCluster, type RealCluster } from '../helpers/real-cluster.js';

/** The limits module and the bounded request every network read goes through (issue 14, section 2). */

const envKeys: string[] = [];
function setLimit(name: keyof typeof DEFAULT_LIMITS, value: number): void {
  process.env[`MESH_VERIFY_${name}`] = String(value);
  envKeys.push(`MESH_VERIFY_${name}`);
}
afterEach(() => { for (const k of envKeys.splice(0)) delete process.env[k]; });

describe('limits', () => {
  it('reads MESH_VERIFY_<NAME> when it is a positive integer, else the default', () => {
    expect(limit('API_REQUEST_TIMEOUT_MS')).toBe(30_000);
    setLimit('API_REQUEST_TIMEOUT_MS', 1234);
    expect(limit('API_REQUEST_TIMEOUT_MS')).toBe(1234);
    process.env.MESH_VERIFY_API_REQUEST_TIMEOUT_MS = '0';
    expect(limit('API_REQUEST_TIMEOUT_MS')).toBe(30_000);
    process.env.MESH_VERIFY_API_REQUEST_TIMEOUT_MS = 'soon';
    expect(limit('API_REQUEST_TIMEOUT_MS')).toBe(30_000);
    expect(formatBytes(32 * 1024 * 1024)).toBe('32 MiB');
    expect(formatBytes(300)).toBe('300 bytes');
  });

  it('sizes an API answer by what it is: a list page, or one object', () => {
    expect(apiResponseLimit('GET', '/api/v1/pods')).toBe('API_LIST_PAGE_MAX_BYTES');
    expect(apiResponseLimit('GET', '/api/v1/namespaces')).toBe('API_LIST_PAGE_MAX_BYTES');
    expect(apiResponseLimit('GET', '/api/v1/namespaces/shop/pods')).toBe('API_LIST_PAGE_MAX_BYTES');
    expect(apiResponseLimit('GET', '/apis/networking.istio.io/v1/namespaces/shop/destinationrules')).toBe('API_LIST_PAGE_MAX_BYTES');
    expect(apiResponseLimit('GET', '/k8s/clusters/c-1/api/v1/services')).toBe('API_LIST_PAGE_MAX_BYTES');
    expect(apiResponseLimit('GET', '/api/v1/namespaces/shop')).toBe('API_OBJECT_MAX_BYTES');
    expect(apiResponseLimit('GET', '/api/v1/namespaces/istio-system/configmaps/istio')).toBe('API_OBJECT_MAX_BYTES');
    expect(apiResponseLimit('GET', '/version')).toBe('API_OBJECT_MAX_BYTES');
    expect(apiResponseLimit('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).toBe('API_OBJECT_MAX_BYTES');
  });
});

/**
 * Our client against deliberately broken servers: small test-local ones, since a real
 * kube-apiserver cannot be made to withhold its headers, drip a body or never finish a handshake.
 */
describe('boundedRequest: connect, headers and whole-body deadlines, and a size limit', () => {
  const closers: (() => void)[] = [];
  afterAll(() => { for (const c of closers) c(); });
  async function serve(server: net.Server): Promise<number> {
    const sockets = new Set<net.Socket>();
    server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('error', () => {}); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => { for (const s of sockets) s.destroy(); server.close(); });
    return (server.address() as net.AddressInfo).port;
  }
  const where = 'test server';
  const fail = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as Error);

  it('no headers: a DeadlineError of phase headers', async () => {
    const port = await serve(http.createServer(() => {}));
    const e = await fail(boundedRequest(`http://127.0.0.1:${port}/x`, {}, { what: 'GET /x', where, headersTimeoutMs: 200, totalTimeoutMs: 5000 }));
    expect(e).toBeInstanceOf(DeadlineError);
    expect(e).toMatchObject({ phase: 'headers', message: 'no response headers within 200 ms' });
  });

  it('a body dripped one byte at a time: the whole-body deadline ends it (an idle timeout never would)', async () => {
    const port = await serve(http.createServer((_q, res) => {
      res.writeHead(200);
      const t = setInterval(() => res.write('x'), 20);
      res.on('close', () => clearInterval(t));
    }));
    const e = await fail(boundedRequest(`http://127.0.0.1:${port}/x`, {}, { what: 'GET /x', where, totalTimeoutMs: 300 }));
    expect(e).toMatchObject({ phase: 'body', message: 'the whole answer did not arrive within 300 ms' });
  });

  it('a TLS server that never completes the handshake: the connect deadline', async () => {
    const port = await serve(net.createServer(() => {}));
    const e = await fail(boundedRequest(`https://127.0.0.1:${port}/x`, {}, { what: 'GET /x', where, connectTimeoutMs: 200, totalTimeoutMs: 5000 }));
    expect(e).toMatchObject({ phase: 'connect', message: 'no connection within 200 ms' });
  });

  it('a body larger than the limit: stops reading there, an EnvironmentError naming the request and the limit', async () => {
    let written = 0;
    const port = await serve(http.createServer((_q, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const pump = () => { while (written < 1024 ** 3) { written += chunk.length; if (!res.write(chunk)) { res.once('drain', pump); return; } } res.end(); };
      res.on('close', () => { written = 1024 ** 3 + 1; });
      pump();
    }));
    const e = await fail(boundedRequest(`http://127.0.0.1:${port}/api/v1/pods`, {}, { what: 'GET /api/v1/pods', where: 'Kubernetes API X', maxBytes: 100_000, maxBytesLimit: 'API_LIST_PAGE_MAX_BYTES' }));
    expect(e).toBeInstanceOf(ResponseTooLargeError);
    expect(e).toBeInstanceOf(EnvironmentError);
    expect(e!.message).toBe('Kubernetes API X: GET /api/v1/pods: the answer is larger than the limit of 100000 bytes (API_LIST_PAGE_MAX_BYTES); reading stopped there');
    expect((e as EnvironmentError).fix).toContain('MESH_VERIFY_API_LIST_PAGE_MAX_BYTES');
  });

  it('an answer within every bound comes back whole', async () => {
    const port = await serve(http.createServer((_q, res) => { res.writeHead(201, { 'x-a': 'b' }); res.end('hello'); }));
    const r = await boundedRequest(`http://127.0.0.1:${port}/x`, {}, { what: 'GET /x', where, maxBytes: 5 });
    expect({ status: r.status, body: r.body.toString(), h: r.headers['x-a'] }).toEqual({ status: 201, body: 'hello', h: 'b' });
  });
});

describe.skipIf(realClusterMissing !== null)('limits of the reads through the Kubernetes API (the real kube-apiserver, a real Envoy)', () => {
  let c: RealCluster;
  let clients: KubeClients;
  const server = () => c.cp.server.replace(/[.]/g, '\\.');
  beforeAll(async () => {
    c = await startRealCluster();
    await c.envoyPod({ namespace: 'mesh-verify', name: 'bff-7d9f-abcde', logs: { 'istio-proxy': Array.from({ length: 200 }, (_, i) => `line ${i}`) } });
    await c.apply(Array.from({ length: 30 }, (_, i) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${i}` } })));
    clients = await connectKube({ kubeconfig: c.adminKubeconfig('lab') });
  }, 120_000);
  afterAll(async () => { await c?.stop(); });

  it('an Envoy admin answer over ADMIN_RESPONSE_MAX_BYTES (port-forward) is exit 4 naming the endpoint and the limit', async () => {
    const t = await openAdminTransport(clients, { namespace: 'mesh-verify', name: 'bff-7d9f-abcde' });
    try {
      expect(t.via).toBe('port-forward');
      expect((await t.get('/server_info')).status).toBe(200);
      setLimit('ADMIN_RESPONSE_MAX_BYTES', 50);
      const e = await t.get('/server_info').then(() => null, (x: unknown) => x as EnvironmentError);
      expect(e).toBeInstanceOf(ResponseTooLargeError);
      expect(e!.message).toBe('Envoy admin mesh-verify/bff-7d9f-abcde:15000 via port-forward: GET /server_info: the answer is larger than the limit of 50 bytes (ADMIN_RESPONSE_MAX_BYTES); reading stopped there');
    } finally {
      await t.close();
    }
  });

  it('a container log over LOG_MAX_BYTES is exit 4 naming the log and the limit', async () => {
    expect(await readPodLog(clients, 'mesh-verify', 'bff-7d9f-abcde', 'istio-proxy')).toContain('line 199');
    setLimit('LOG_MAX_BYTES', 100);
    const e = await readPodLog(clients, 'mesh-verify', 'bff-7d9f-abcde', 'istio-proxy').then(() => null, (x: unknown) => x as EnvironmentError);
    expect(e).toBeInstanceOf(ResponseTooLargeError);
    expect(e!.message).toMatch(new RegExp(`^Kubernetes API ${server()}: GET /api/v1/namespaces/mesh-verify/pods/bff-7d9f-abcde/log: the answer is larger than the limit of 100 bytes \\(LOG_MAX_BYTES\\)`));
  });

  it('audit lists: a byte cap across pages, naming the list and the limit (the page cap: test/cluster/hostile-api.test.ts)', async () => {
    const read = () => readInventory(clients, { namespaces: null, rootNamespace: 'istio-system', timeoutMs: 10_000 }).then(() => null, (x: unknown) => x as EnvironmentError);
    expect(await read()).toBeNull();
    setLimit('API_LIST_MAX_BYTES', 200);
    const bytes = await read();
    expect(bytes).toBeInstanceOf(EnvironmentError);
    expect(bytes!.message).toMatch(/GET \/api\/v1\/namespaces: the list is larger than the limit of 200 bytes across its pages \(API_LIST_MAX_BYTES\)$/);
    expect(bytes!.fix).toContain('MESH_VERIFY_API_LIST_MAX_BYTES');
  });

  it('a generated client (CoreV1Api) is bounded too: a list page over API_LIST_PAGE_MAX_BYTES', async () => {
    setLimit('API_LIST_PAGE_MAX_BYTES', 500);
    const e = await clients.core.listNamespace().then(() => null, (x: unknown) => x as EnvironmentError);
    expect(e).toBeInstanceOf(ResponseTooLargeError);
    expect(e!.message).toMatch(/: GET \/api\/v1\/namespaces: the answer is larger than the limit of 500 bytes \(API_LIST_PAGE_MAX_BYTES\)/);
    // One object stays within its own limit.
    expect((await clients.core.readNamespace({ name: 'ns-1' })).metadata?.name).toBe('ns-1');
  });

  it('pilot-agent request through exec (port-forward refused by RBAC): output over ADMIN_RESPONSE_MAX_BYTES is exit 4 naming the command and the limit', async () => {
    const file = await c.serviceAccountKubeconfig('denied', [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }, { apiGroups: [''], resources: ['pods/exec'], verbs: ['get', 'create'] },
    ]);
    const d = await connectKube({ kubeconfig: file });
    const t = await openAdminTransport(d, { namespace: 'mesh-verify', name: 'bff-7d9f-abcde' });
    try {
      expect(t.via).toBe('exec');
      expect((await t.get('/server_info')).status).toBe(200);
      setLimit('ADMIN_RESPONSE_MAX_BYTES', 50);
      const e = await t.get('/server_info').then(() => null, (x: unknown) => x as EnvironmentError);
      expect(e).toBeInstanceOf(ResponseTooLargeError);
      expect(e!.message).toBe('pod mesh-verify/bff-7d9f-abcde (istio-proxy): exec pilot-agent request GET /server_info: the answer is larger than the limit of 50 bytes (ADMIN_RESPONSE_MAX_BYTES); reading stopped there');
    } finally {
      await t.close();
    }
  });
});
