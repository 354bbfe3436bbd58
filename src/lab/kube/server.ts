import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { createRootCa, issueCertificate } from '../../pki/ca.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import type { LabPod } from '../types.js';
import { LAB_USER, isDenied, type AccessPolicy } from './access.js';
import { pickProtocol } from './channel-protocol.js';
import { LabControllers, applyDefaults } from './controllers.js';
import { LAB_KUBE_VERSION, coreVersions, group, groupList, resourceList, versionInfo } from './discovery.js';
import { EXEC_PROTOCOLS, serveExec } from './exec.js';
import { sendError, sendJson } from './http-io.js';
import { kubeconfigYaml as renderKubeconfig } from './kubeconfig.js';
import { ObjectStore, type KubeObject } from './object-store.js';
import { logContainer, parseLogQuery, servePodLog } from './pod-logs.js';
import { PORT_FORWARD_PROTOCOLS, servePortForward } from './port-forward.js';
import { podLookup, type PodLookup } from './pod-lookup.js';
import { acceptSpdyUpgrade, aliasSpdyTunnel, isSpdyUpgrade, restoreSpdyTunnel, serveSpdyOverWebSocket, SPDY_TUNNEL_ALIAS } from './spdy-upgrade.js';
import { parseRequestInfo, type RequestInfo } from './request-info.js';
import { findResource, groupVersion, resourceForKind } from './resources.js';
import { openApiV3 } from './openapi.js';
import { handleResource } from './rest.js';
import { serverSideApply } from './server-side-apply.js';
import { baseClusterObjects } from './cluster-seed.js';
import { Status, StatusError, type KubeStatus } from './status.js';

export interface KubeApiOptions {
  /** The lab's pods (dynamic: called on every request). */
  pods?: () => LabPod[];
  /**
   * One of those pods by namespace and name, as `pods().find(...)` would answer (called on every
   * port-forward and exec). Default: an index over `pods()` (podLookup).
   */
  pod?: PodLookup;
  /** Answer port-forward with 403 Forbidden (to exercise the exec fallback). */
  denyPortForward?: boolean;
  /** Verbs to refuse with 403: 'patch' (any resource) or 'create pods/exec' (one resource). */
  denyVerbs?: string[];
  /**
   * The Kubernetes minor the API authorizes like (default: the lab's, 33): from 35 a WebSocket
   * port-forward or exec needs `create` as well as `get`.
   */
  kubernetesMinor?: number;
  log?: (line: string) => void;
}

/** One request as the API double saw it (so tests can prove what a client did). */
export interface ApiRequestRecord {
  method: string;
  verb: string;
  group: string;
  version: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  path: string;
  query: string;
  userAgent?: string;
  code?: number;
}

export interface KubeApi {
  url: string;
  caPem: string;
  token: string;
  store: ObjectStore;
  requests: ApiRequestRecord[];
  kubeconfigYaml(context?: string): string;
  /** Written atomically, mode 0600. */
  writeKubeconfig(file: string, context?: string): Promise<void>;
  /** Server-side apply an object as `fieldManager` would (defaults, managedFields, controllers). */
  apply(obj: KubeObject, fieldManager?: string): KubeObject;
  /**
   * Apply many objects with one reconcile at the end (fast for thousands of pods). An object the
   * API cannot take is passed to `onError` (default: thrown).
   */
  applyAll(objs: KubeObject[], fieldManager?: string, onError?: (obj: KubeObject, err: Error) => void): KubeObject[];
  /** Bring pods, deployments and endpoints in line now (they also follow every request). */
  reconcile(): void;
  close(): Promise<void>;
}

const noopPods = () => [] as LabPod[];

function rejectUpgrade(socket: Duplex, status: KubeStatus): void {
  const body = JSON.stringify(status);
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status.code] ?? 'Error';
  socket.end(`HTTP/1.1 ${status.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export async function startKubeApi(opts: KubeApiOptions = {}): Promise<KubeApi> {
  const pods = opts.pods ?? noopPods;
  const policy: AccessPolicy = { denyVerbs: opts.denyVerbs ?? [], denyPortForward: opts.denyPortForward ?? false };
  const kubernetesMinor = opts.kubernetesMinor ?? Number(LAB_KUBE_VERSION.minor);
  const token = randomBytes(24).toString('base64url');
  const ca = await createRootCa('mesh-verify-lab-apiserver-ca');
  const cert = await issueCertificate(ca, {
    commonName: 'kube-apiserver', dnsSans: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipSans: ['127.0.0.1'], serverAuth: true, clientAuth: false,
  });
  const store = new ObjectStore();
  const controllers = new LabControllers(store, pods);
  const requests: ApiRequestRecord[] = [];
  const sockets = new Set<Socket>();
  const streams = new Set<() => void>();
  const track = (end: () => void) => { streams.add(end); return () => { streams.delete(end); }; };
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => pickProtocol(offered, [...PORT_FORWARD_PROTOCOLS, SPDY_TUNNEL_ALIAS, ...EXEC_PROTOCOLS]) ?? false });
  wss.on('headers', restoreSpdyTunnel);
  let serverAddress = '127.0.0.1:0';

  const labPod: PodLookup = opts.pod ?? podLookup(pods);

  const authorized = (req: IncomingMessage) => req.headers.authorization === `Bearer ${token}`;

  const record = (req: IncomingMessage, url: URL, info: RequestInfo): ApiRequestRecord => {
    const rec: ApiRequestRecord = {
      method: req.method ?? 'GET', verb: info.verb, group: info.apiGroup, version: info.apiVersion, path: url.pathname, query: url.search,
      ...(info.resource ? { resource: info.resource } : {}), ...(info.subresource ? { subresource: info.subresource } : {}),
      ...(info.namespace ? { namespace: info.namespace } : {}), ...(info.name ? { name: info.name } : {}),
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
    };
    requests.push(rec);
    return rec;
  };

  function nonResource(info: RequestInfo, res: ServerResponse): void {
    const p = info.path;
    if (p === '/version' || p === '/version/') return sendJson(res, 200, versionInfo(kubernetesMinor));
    if (p === '/api') return sendJson(res, 200, coreVersions(serverAddress));
    if (p === '/apis') return sendJson(res, 200, groupList());
    if (p === '/healthz' || p === '/livez' || p === '/readyz') { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('ok'); return; }
    if (p.startsWith('/openapi/v3')) {
      const doc = openApiV3(p);
      if (doc) return sendJson(res, 200, doc);
    }
    const parts = p.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts.length === 2) {
      const list = resourceList('', parts[1]);
      if (list) return sendJson(res, 200, list);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = group(parts[1]);
      if (g) return sendJson(res, 200, g);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = resourceList(parts[1], parts[2]);
      if (list) return sendJson(res, 200, list);
    }
    throw Status.pathNotFound();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://lab.invalid');
    const info = parseRequestInfo(req.method ?? 'GET', url);
    const rec = record(req, url, info);
    res.on('finish', () => { rec.code = res.statusCode; });
    if (!authorized(req)) throw Status.unauthorized();
    if (!info.isResourceRequest) return nonResource(info, res);
    const r = findResource(info.apiGroup, info.apiVersion, info.resource!);
    if (!r) throw Status.pathNotFound();
    const resourceName = info.subresource ? `${info.resource}/${info.subresource}` : info.resource!;
    const verb = info.subresource === 'portforward' || info.subresource === 'exec' ? 'create' : info.verb;
    if (isDenied(policy, verb, resourceName)) throw Status.forbidden(LAB_USER, verb, resourceName, r.group, info.namespace, info.name);
    controllers.reconcile();
    if (r.kind === 'Pod' && info.subresource === 'log') {
      if (req.method !== 'GET') throw Status.methodNotAllowed();
      const pod = store.get('Pod', info.namespace, info.name!);
      if (!pod) throw Status.notFound('pods', '', info.name!);
      const q = parseLogQuery(url.searchParams);
      const container = logContainer(pod, q.container);
      let untrack = () => undefined as void;
      const end = servePodLog(res, labPod(info.namespace, info.name), container, q);
      untrack = track(end);
      res.on('close', () => untrack());
      return;
    }
    if (r.kind === 'Pod' && (info.subresource === 'portforward' || info.subresource === 'exec' || info.subresource === 'attach')) {
      throw Status.badRequest(`Upgrade request required for ${info.subresource}`);
    }
    await handleResource({ store, controllers, policy, track }, r, info, url, req, res);
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    try {
      const url = new URL(req.url ?? '/', 'https://lab.invalid');
      const info = parseRequestInfo(req.method ?? 'GET', url);
      const rec = record(req, url, info);
      const reject = (s: KubeStatus) => { rec.code = s.code; rejectUpgrade(socket, s); };
      if (!authorized(req)) return reject(Status.unauthorized().status);
      const sub = info.subresource;
      if (!info.isResourceRequest || info.resource !== 'pods' || info.apiGroup !== '' || (sub !== 'portforward' && sub !== 'exec')) return reject(Status.pathNotFound().status);
      // As kube-apiserver: the verb comes from the method (GET, the WebSocket upgrade: get; POST,
      // SPDY: create; k8s.io/apiserver pkg/endpoints/request/requestinfo.go), and from 1.35 the
      // WebSocket upgrade must also be allowed to create (KEP-4006, kubernetes/kubernetes#134577,
      // gate AuthorizePodWebsocketUpgradeCreatePermission).
      const verbs = req.method === 'POST' ? ['create'] : kubernetesMinor >= 35 ? ['get', 'create'] : ['get'];
      rec.verb = verbs[0];
      const refused = verbs.find((v) => isDenied(policy, v, `pods/${sub}`));
      if (refused) return reject(Status.forbidden(LAB_USER, refused, `pods/${sub}`, '', info.namespace, info.name).status);
      // A real API server looks the pod up; reconcile (O(pods)) only when the store and the data
      // plane disagree about it (just created or just gone), and always before an exec.
      let lab = labPod(info.namespace, info.name);
      if (!lab || sub === 'exec' || !store.has('Pod', info.namespace, info.name!)) {
        controllers.reconcile();
        lab = labPod(info.namespace, info.name);
      }
      if (!store.has('Pod', info.namespace, info.name!)) return reject(Status.notFound('pods', '', info.name!).status);
      const lp = lab ?? { ...({} as LabPod), name: info.name!, namespace: info.namespace!, ports: {}, logs: () => [] };
      if (sub === 'portforward' && isSpdyUpgrade(req)) {
        // kubectl port-forward (<= 1.30, or its fallback): SPDY/3.1 straight on the connection.
        const refused = acceptSpdyUpgrade(req, socket, head, lp);
        if (refused) return reject(Status.badRequest(refused).status);
        rec.code = 101;
        return;
      }
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        return reject(Status.badRequest(`the lab's API double speaks WebSocket (and SPDY/3.1 for port-forward), not ${req.headers.upgrade ?? 'this upgrade'}`).status);
      }
      if (sub === 'portforward') aliasSpdyTunnel(req);
      const offered = new Set(String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
      const supported = sub === 'portforward' ? [...PORT_FORWARD_PROTOCOLS, SPDY_TUNNEL_ALIAS] : EXEC_PROTOCOLS;
      const protocol = offered.size === 0 ? 'channel.k8s.io' : pickProtocol(offered, supported);
      if (!protocol) return reject(Status.badRequest(`none of the offered subprotocols (${[...offered].join(', ')}) is supported for ${sub}; supported: ${supported.join(', ')}`).status);
      let container = '';
      if (protocol === SPDY_TUNNEL_ALIAS) {
        // kubectl port-forward >= 1.31: SPDY tunnelled in WebSocket messages; ports are in the streams.
        wss.handleUpgrade(req, socket, head, (ws) => serveSpdyOverWebSocket(ws, lp));
        rec.code = 101;
        return;
      }
      if (sub === 'portforward') {
        const ports = url.searchParams.getAll('ports').flatMap((p) => p.split(',')).map((p) => Number(p.trim()));
        if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p <= 0 || p > 65535)) return reject(Status.badRequest('query parameter "ports" is required: one or more ports in 1-65535').status);
        // The 101 answer and each channel's first frame (its port) leave in one TLS write.
        socket.cork();
        try {
          wss.handleUpgrade(req, socket, head, (ws) => servePortForward(ws, protocol, lp, ports));
        } finally {
          socket.uncork();
        }
        rec.code = 101;
        return;
      }
      const command = url.searchParams.getAll('command');
      if (command.length === 0) return reject(Status.badRequest('you must specify at least 1 command').status);
      try {
        container = logContainer(store.get('Pod', info.namespace, info.name!)!, url.searchParams.get('container') ?? undefined);
      } catch (err) {
        return reject((err as StatusError).status);
      }
      const flag = (k: string) => ['true', '1'].includes(url.searchParams.get(k) ?? '');
      wss.handleUpgrade(req, socket, head, (ws) => serveExec(ws, protocol, lp, container, command, { stdout: flag('stdout'), stderr: flag('stderr') }));
      rec.code = 101;
    } catch (err) {
      rejectUpgrade(socket, err instanceof StatusError ? err.status : Status.badRequest((err as Error).message).status);
    }
  }

  const server: Server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    handle(req, res).catch((err) => {
      if (!(err instanceof StatusError)) opts.log?.(`lab api: ${req.method} ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    });
  });
  server.on('secureConnection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('upgrade', upgrade);
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as { port: number }).port;
  serverAddress = `127.0.0.1:${port}`;
  const url = `https://127.0.0.1:${port}`;
  const timer = setInterval(() => controllers.reconcile(), 500);
  timer.unref();

  /** Server-side apply without reconciling (the caller reconciles). */
  const applyOne = (obj: KubeObject, fieldManager: string): KubeObject => {
    const r = resourceForKind(obj.apiVersion, obj.kind);
    if (!r) throw new Error(`the lab's API does not serve ${obj.apiVersion} ${obj.kind}`);
    const ns = r.namespaced ? obj.metadata.namespace ?? 'default' : undefined;
    const live = store.get(r, ns, obj.metadata.name);
    const next = serverSideApply({ live, applied: { ...obj, metadata: { ...obj.metadata, ...(ns ? { namespace: ns } : {}) } }, manager: fieldManager, force: true, apiVersion: groupVersion(r.group, r.versions[0]) });
    return store.put(applyDefaults(r, next), r);
  };

  const kubeconfigYaml = (context?: string) => renderKubeconfig({ server: url, caPem: ca.certPem, token, context });
  let closed = false;
  const api: KubeApi = {
    url, caPem: ca.certPem, token, store, requests,
    kubeconfigYaml,
    writeKubeconfig: (file, context) => writeFileAtomic(file, kubeconfigYaml(context), 0o600),
    apply(obj, fieldManager = 'mesh-verify-lab') {
      const saved = applyOne(obj, fieldManager);
      controllers.reconcile();
      return store.get(resourceForKind(saved.apiVersion, saved.kind)!, saved.metadata.namespace, saved.metadata.name) ?? saved;
    },
    applyAll(objs, fieldManager = 'mesh-verify-lab', onError) {
      const saved = controllers.batch(() => objs.flatMap((o) => {
        try {
          return [applyOne(o, fieldManager)];
        } catch (err) {
          if (!onError) throw err;
          onError(o, err as Error);
          return [];
        }
      }));
      return saved.map((o) => store.get(resourceForKind(o.apiVersion, o.kind)!, o.metadata.namespace, o.metadata.name) ?? o);
    },
    reconcile: () => controllers.reconcile(),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      controllers.stop();
      for (const end of [...streams]) end();
      for (const c of wss.clients) c.terminate();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      wss.close();
      await done;
    },
  };
  api.applyAll(baseClusterObjects(), 'kube-apiserver');
  return api;
}
