import { generateKeyPairSync } from 'node:crypto';
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { reservePodCidr } from './pod-network.js';
import { request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { canBind } from './can-bind.js';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { EnvironmentError } from '../core/errors.js';
import { createRootCa, issueCertificate, type Authority, type IssuedCert } from '../pki/ca.js';
import { spawnOwned, supervise, type SupervisedChild } from './envoy/process.js';
import { labTempDir } from './lab-dirs.js';
import { findKubeBinaries, pinnedKube, type KubeBinaries } from './kube-binaries.js';

/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok (the node and pod status; port-forward, logs and exec through its own
 * kubelet server, configured with kwok's PortForward/Logs/Exec objects). Only the container
 * runtime and the node are simulated. The control plane binds <base>.1 of one free 127.A.B.0/24
 * block. Pods get IPs from `podCidr`, a 10.244.N.0/24 (kind's pod range; larger for more pods): not loopback, because
 * Kubernetes refuses loopback addresses in EndpointSlices ("may not be in the loopback range").
 */
export interface KubeControlPlane {
  /** https://<ip>:6443 */
  server: string;
  /** A kubeconfig file with cluster-admin (system:masters) rights. */
  kubeconfig: string;
  /** The cluster CA (signs the apiserver's serving certificate and client certificates). */
  caPem: string;
  /** The node kwok manages (every pod is scheduled there). */
  nodeName: string;
  /** The control plane's block, e.g. 127.140.7 (the apiserver is <base>.1). */
  base: string;
  /** Where kwok allocates pod IPs from (kwok --cidr). */
  podCidr: string;
  /** etcd's client URL (plain HTTP on the control plane's loopback address; its v3 gRPC gateway too). */
  etcdUrl: string;
  /** Request on the API as cluster-admin. JSON in, JSON out (or text when the answer is not JSON). */
  api(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: any }>;
  /** One process's log (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok). */
  log(name: string): string;
  /** The apiserver's own audit log (policy: every request at level Metadata), oldest first. */
  auditEvents(): AuditEvent[];
  stop(): Promise<void>;
}

/** One event of the apiserver's audit log (audit.k8s.io/v1 Event, the fields the lab reads). */
export interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  stage: string;
}

export interface KubeControlPlaneOptions {
  binaries?: KubeBinaries;
  log?: (line: string) => void;
  /** Upper bound for the whole start (default 90 s). */
  timeoutMs?: number;
  /** More kube-apiserver flags, after the lab's own (default none; tests that need e.g. a feature gate off). */
  apiserverFlags?: string[];
  /**
   * How many pods the node must give an IP (default 200): kwok allocates them from `podCidr`,
   * a /24 up to 254 pods, a larger block (down to a /16, 65,534 pods) beyond.
   */
  pods?: number;
}

/**
 * The pod CIDR for `pods` pods: a random 10.244.N.0/24 (kind's pod range) when it holds them,
 * else the smallest aligned block of 10.244.0.0/16 that does (kwok hands out every address but
 * the network's and the broadcast's).
 */
export function podCidrFor(pods: number, random: () => number = Math.random): string {
  if (!Number.isInteger(pods) || pods < 0) throw new Error(`pod count must be a whole number, got ${pods}`);
  const bits = Math.max(8, Math.ceil(Math.log2(pods + 2)));
  if (bits > 16) throw new EnvironmentError(`the lab's node cannot give ${pods} pods an IP: its pod range is at most a /16 (65,534 pods)`);
  if (bits === 8) return `10.244.${1 + Math.floor(random() * 250)}.0/24`;
  const block = 2 ** (bits - 8);
  return `10.244.${Math.floor(random() * (256 / block)) * block}.0/${32 - bits}`;
}

const PORTS = { etcdClient: 2379, etcdPeer: 2380, apiserver: 6443, kubelet: 10250, kcm: 10257, scheduler: 10259 };
export const LAB_NODE = 'lab-node';
const SERVICE_CIDR = '10.96.0.0/16';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pickBase(): Promise<string> {
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const base = `127.${100 + Math.floor(Math.random() * 150)}.${1 + Math.floor(Math.random() * 250)}`;
    const free = await Promise.all(Object.values(PORTS).map((p) => canBind(`${base}.1`, p)));
    if (free.every(Boolean)) return base;
  }
  throw new EnvironmentError('the lab found no free loopback block 127.A.B.0/24 for its control plane in 8 tries', 'stop other labs, or processes bound to 0.0.0.0 on ports 2379, 2380, 6443, 10250, 10257, 10259');
}

interface Pki {
  ca: Authority;
  serving: IssuedCert;
  kwokServing: IssuedCert;
  clients: Record<'admin' | 'controllerManager' | 'scheduler' | 'kwok' | 'kubeletClient', IssuedCert>;
  saKeyPem: string;
  saPubPem: string;
}

async function createPki(ip: string): Promise<Pki> {
  const ca = await createRootCa('mesh-verify lab kubernetes CA', { organization: 'mesh-verify lab' });
  const client = (commonName: string, organization?: string) => issueCertificate(ca, { commonName, organization, serverAuth: false, notAfterMs: 7 * 24 * 3600_000 });
  const [serving, kwokServing, admin, controllerManager, scheduler, kwok, kubeletClient] = await Promise.all([
    issueCertificate(ca, {
      commonName: 'kube-apiserver', clientAuth: false, ipSans: [ip, '10.96.0.1'], notAfterMs: 7 * 24 * 3600_000,
      dnsSans: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'],
    }),
    issueCertificate(ca, { commonName: LAB_NODE, clientAuth: false, ipSans: [ip], dnsSans: [LAB_NODE], notAfterMs: 7 * 24 * 3600_000 }),
    client('mesh-verify-lab-admin', 'system:masters'),
    client('system:kube-controller-manager'),
    client('system:kube-scheduler'),
    // kwok patches every pod's and node's status and reads its own CRDs: kwokctl runs it as admin too.
    client('kwok-controller', 'system:masters'),
    client('kube-apiserver-kubelet-client', 'system:masters'),
  ]);
  // The ServiceAccount token key: kube-apiserver reads the public half as a PUBLIC KEY (SPKI) PEM.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const saKeyPem = privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  const saPubPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  return { ca, serving, kwokServing, clients: { admin, controllerManager, scheduler, kwok, kubeletClient }, saKeyPem, saPubPem };
}

function kubeconfigJson(server: string, caPem: string, user: string, cert: IssuedCert): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'mesh-verify-lab',
    clusters: [{ name: 'mesh-verify-lab', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(cert.certPem), 'client-key-data': b64(cert.keyPem) } }],
    contexts: [{ name: 'mesh-verify-lab', context: { cluster: 'mesh-verify-lab', user } }],
  }, null, 2) + '\n';
}

/** GET/POST with a bounded time; resolves with status and body, rejects on a transport error. */
function fetchText(url: string, opts: { method?: string; body?: string; contentType?: string; tls?: { ca: string; cert: string; key: string }; agent?: HttpsAgent }, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
      method: opts.method ?? 'GET', timeout: timeoutMs, agent: opts.agent ?? false,
      headers: { accept: 'application/json', ...(opts.body !== undefined ? { 'content-type': opts.contentType ?? 'application/json' } : {}) },
      ...(opts.tls ?? {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * Start the control plane and wait until the node is Ready
 * (what a pod needs to be admitted). On any failure everything started so far is stopped and the
 * error names the process and the end of its log.
 */
export async function startKubeControlPlane(opts: KubeControlPlaneOptions = {}): Promise<KubeControlPlane> {
  const bins = opts.binaries ?? findKubeBinaries();
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  const dir = labTempDir('mesh-verify-kube-');
  const children: { name: string; child: SupervisedChild }[] = [];
  const logs = new Map<string, string>();
  const readLog = (name: string) => { try { return readFileSync(logs.get(name) ?? '', 'utf8'); } catch { return ''; } };
  // The lab's own requests share a few kept-alive connections (a fleet of 1,000 pods is thousands of them).
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 16 });
  /** Reservations the stop gives back (the pod range). */
  const releases: (() => void)[] = [];
  const stop = async () => {
    agent.destroy();
    for (const { child } of [...children].reverse()) await child.stop(5_000, 2_000);
    children.length = 0;
    await rm(dir, { recursive: true, force: true });
    for (const r of releases.splice(0)) r();
  };
  try {
    const base = await pickBase();
    const ip = `${base}.1`;
    const range = await reservePodCidr(opts.pods ?? 200, podCidrFor);
    releases.push(range.release);
    const podCidr = range.cidr;
    const server = `https://${ip}:${PORTS.apiserver}`;
    const pki = await createPki(ip);
    const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text, { mode: 0o600 }); return p; };
    const f = {
      ca: file('ca.crt', pki.ca.certPem), caKey: file('ca.key', pki.ca.keyPem),
      servingCrt: file('apiserver.crt', pki.serving.chainPem), servingKey: file('apiserver.key', pki.serving.keyPem),
      kwokCrt: file('kwok-serving.crt', pki.kwokServing.chainPem), kwokKey: file('kwok-serving.key', pki.kwokServing.keyPem),
      kubeletCrt: file('kubelet-client.crt', pki.clients.kubeletClient.certPem), kubeletKey: file('kubelet-client.key', pki.clients.kubeletClient.keyPem),
      sa: file('sa.key', pki.saKeyPem), saPub: file('sa.pub', pki.saPubPem),
      admin: file('admin.kubeconfig', kubeconfigJson(server, pki.ca.certPem, 'mesh-verify-lab-admin', pki.clients.admin)),
      kcm: file('kcm.kubeconfig', kubeconfigJson(server, pki.ca.certPem, 'system:kube-controller-manager', pki.clients.controllerManager)),
      scheduler: file('scheduler.kubeconfig', kubeconfigJson(server, pki.ca.certPem, 'system:kube-scheduler', pki.clients.scheduler)),
      kwok: file('kwok.kubeconfig', kubeconfigJson(server, pki.ca.certPem, 'kwok-controller', pki.clients.kwok)),
    };
    const tls = { ca: pki.ca.certPem, cert: pki.clients.admin.certPem, key: pki.clients.admin.keyPem };
    const api: KubeControlPlane['api'] = async (method, path, body, contentType) => {
      // 30 s: a hang guard, not a target (three labs starting side by side on 2 cores can keep the
      // apiserver from answering for more than 10 s while it rebuilds its OpenAPI for new CRDs).
      const r = await fetchText(server + path, { method, tls, agent, contentType, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) }, 30_000);
      let parsed: unknown = r.text;
      try { parsed = JSON.parse(r.text); } catch { /* text */ }
      return { status: r.status, body: parsed };
    };

    const start = (name: string, bin: string, args: string[]) => {
      const logFile = join(dir, `${name}.log`);
      logs.set(name, logFile);
      const fd = openSync(logFile, 'a');
      const child = spawnOwned(bin, args, { stdio: ['ignore', fd, fd] });
      closeSync(fd);
      children.push({ name, child: supervise(child, (code, signal) => opts.log?.(`${name} exited (${signal ?? code})`)) });
      return children[children.length - 1]!.child;
    };
    /** Poll `ready` until it holds; fail naming `name` and its log when it exits or time runs out. */
    const waitFor = async (name: string, what: string, ready: () => Promise<boolean>) => {
      const child = children.findLast((c) => c.name === name)?.child;
      for (;;) {
        if (child?.gone()) throw new EnvironmentError(`the lab's ${name} exited before ${what}: ${readLog(name).trim().split('\n').slice(-5).join(' | ').slice(-800)}`);
        if (await ready().catch(() => false)) return;
        if (Date.now() > deadline) throw new EnvironmentError(`the lab's ${name} was not ${what} in time: ${readLog(name).trim().split('\n').slice(-5).join(' | ').slice(-800)}`);
        await sleep(250);
      }
    };

    const etcdUrl = `http://${ip}:${PORTS.etcdClient}`;
    start('etcd', bins.etcd, [
      '--name', 'lab', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', `http://${ip}:${PORTS.etcdPeer}`, '--initial-advertise-peer-urls', `http://${ip}:${PORTS.etcdPeer}`,
      '--initial-cluster', `lab=http://${ip}:${PORTS.etcdPeer}`,
      // A throw-away lab store: durability is not what we test.
      '--unsafe-no-fsync', '--log-level', 'warn',
    ]);
    await waitFor('etcd', 'healthy', async () => (await fetchText(`${etcdUrl}/health`, {}, 2_000)).text.includes('"health":"true"'));
    opts.log?.(`etcd ${pinnedKube().etcd} healthy on ${ip}`);

    start('kube-apiserver', bins.apiserver, [
      '--etcd-servers', etcdUrl, '--bind-address', ip, '--advertise-address', ip, '--secure-port', String(PORTS.apiserver),
      '--tls-cert-file', f.servingCrt, '--tls-private-key-file', f.servingKey, '--client-ca-file', f.ca,
      '--service-account-issuer', 'https://kubernetes.default.svc.cluster.local',
      '--service-account-key-file', f.saPub, '--service-account-signing-key-file', f.sa,
      '--service-cluster-ip-range', SERVICE_CIDR, '--authorization-mode', 'Node,RBAC',
      '--kubelet-client-certificate', f.kubeletCrt, '--kubelet-client-key', f.kubeletKey,
      '--kubelet-certificate-authority', f.ca, '--kubelet-preferred-address-types', 'InternalIP',
      '--allow-privileged=true', '--profiling=false', '--cert-dir', join(dir, 'apiserver-certs'),
      '--audit-policy-file', file('audit-policy.yaml', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n'),
      '--audit-log-path', join(dir, 'audit.log'), '--audit-log-format', 'json', '--audit-log-mode', 'blocking',
      ...(opts.apiserverFlags ?? []),
    ]);
    await waitFor('kube-apiserver', 'ready', async () => (await api('GET', '/readyz')).status === 200);
    opts.log?.(`kube-apiserver ${pinnedKube().kubernetes} ready on ${server}`);

    start('kube-controller-manager', bins.controllerManager, [
      '--kubeconfig', f.kcm, '--authentication-kubeconfig', f.kcm, '--authorization-kubeconfig', f.kcm,
      '--bind-address', ip, '--secure-port', String(PORTS.kcm), '--leader-elect=false',
      '--service-account-private-key-file', f.sa, '--root-ca-file', f.ca, '--use-service-account-credentials=true',
      '--cluster-signing-cert-file', f.ca, '--cluster-signing-key-file', f.caKey,
      '--service-cluster-ip-range', SERVICE_CIDR, '--allocate-node-cidrs=false',
    ]);
    start('kube-scheduler', bins.scheduler, [
      '--kubeconfig', f.scheduler, '--authentication-kubeconfig', f.scheduler, '--authorization-kubeconfig', f.scheduler,
      '--bind-address', ip, '--secure-port', String(PORTS.scheduler), '--leader-elect=false',
    ]);

    // kwok's CRDs, from its release, before kwok reads them.
    for (const name of readdirSync(join(bins.kwokData, 'crds')).filter((n) => n.endsWith('.yaml')).sort()) {
      for (const doc of parseAllDocuments(readFileSync(join(bins.kwokData, 'crds', name), 'utf8'))) {
        const crd = doc.toJS() as { metadata?: { name?: string } } | null;
        if (!crd?.metadata?.name) continue;
        const r = await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
        if (r.status !== 201 && r.status !== 409) throw new EnvironmentError(`the lab could not install kwok's CRD ${crd.metadata.name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      }
    }
    await waitFor('kube-apiserver', "serving kwok's CRDs", async () => (await api('GET', '/apis/kwok.x-k8s.io/v1alpha1/portforwards')).status === 200);

    const kwokArgs = [
      '--kubeconfig', f.kwok, '--config', join(bins.kwokData, 'stages.yaml'),
      '--manage-all-nodes=true', '--cidr', podCidr, '--node-ip', ip, '--node-name', LAB_NODE,
      '--node-port', String(PORTS.kubelet), '--server-address', `${ip}:${PORTS.kubelet}`,
      '--tls-cert-file', f.kwokCrt, '--tls-private-key-file', f.kwokKey,
      '--enable-crds', 'PortForward,ClusterPortForward,Logs,ClusterLogs,Exec,ClusterExec',
    ];
    start('kwok', bins.kwok, kwokArgs);
    const node = {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: LAB_NODE, labels: { 'kubernetes.io/hostname': LAB_NODE, 'kubernetes.io/os': 'linux', type: 'kwok' }, annotations: { 'kwok.x-k8s.io/node': 'fake' } },
      spec: {},
    };
    const created = await api('POST', '/api/v1/nodes', node);
    if (created.status !== 201) throw new EnvironmentError(`the lab could not create its node: HTTP ${created.status} ${JSON.stringify(created.body).slice(0, 300)}`);
    const nodeReady = async () => {
      const r = await api('GET', `/api/v1/nodes/${LAB_NODE}`);
      return (r.body?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
    };
    try {
      await waitFor('kwok', `reporting node ${LAB_NODE} Ready`, nodeReady);
    } catch (err) {
      const dead = children.findLastIndex((c) => c.name === 'kwok');
      if (dead < 0 || !children[dead]!.child.gone()) throw err;
      children.splice(dead, 1);
      // kwok 0.8.0 can panic at start (a nil lifecycle in NodeController.preprocessWorker, seen once
      // in 5 CI runs) when the node arrives before it has its stages: one more start, then it fails.
      opts.log?.(`kwok exited while starting (${(err as Error).message.slice(0, 200)}); starting it once more`);
      start('kwok', bins.kwok, kwokArgs);
      await waitFor('kwok', `reporting node ${LAB_NODE} Ready`, nodeReady);
    }
    // Not awaited: the controller-manager's ServiceAccount controller (about 4 s after start) gives
    // each namespace its `default` ServiceAccount; a pod that needs it waits in its ReplicaSet's retries.
    opts.log?.(`kwok ${pinnedKube().kwok} manages node ${LAB_NODE}; pods get IPs in ${podCidr}`);

    const auditEvents = (): AuditEvent[] => {
      let text = '';
      try { text = readFileSync(join(dir, 'audit.log'), 'utf8'); } catch { return []; }
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
    };
    return { server, kubeconfig: f.admin, caPem: pki.ca.certPem, nodeName: LAB_NODE, base, podCidr, etcdUrl, api, log: readLog, auditEvents, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
