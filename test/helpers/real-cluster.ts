import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findIstioCrds, findKubeBinaries } from '../../src/lab/kube-binaries.js';
import { startKubeControlPlane, type KubeControlPlane } from '../../src/lab/kube-control-plane.js';
import { installIstioCrds, labKube } from '../../src/lab/lab-kube.js';
import { realEnvoyPath, requireEnvoyInCi, startEnvoy, type RunningEnvoy } from './real-envoy.js';

/**
 * Tests on the REAL control plane (src/lab/kube-control-plane.ts: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, kwok as the node) with REAL Envoys behind the pods:
 * a pod is an API object on kwok's node; kwok's PortForward object points its port 15000 at an
 * Envoy's admin port, its Logs object at a CRI-format log file, and its Exec object runs commands
 * on this machine. Start one per test file (beforeAll). In CI a missing binary fails the file.
 *
 * The one stand-in left is `pilot-agent` (Istio's binary is not in the component cache):
 * bin/pilot-agent, on kwok's PATH, answers `pilot-agent request GET <path>` as
 * istio pilot/pkg/request/command.go does (body on stdout and exit 0 below 400 and for 404;
 * "received unsuccessful status code N: body" on stderr and exit 1 otherwise), from the real
 * Envoy of the pod (its admin port in MESH_VERIFY_TEST_ENVOY_ADMIN, set by the Exec object).
 */
export const kubeBinaries = (() => { try { return findKubeBinaries(); } catch (e) { return e as Error; } })();
if (process.env.CI && kubeBinaries instanceof Error) throw kubeBinaries;
export const envoyBinary = realEnvoyPath();
requireEnvoyInCi(envoyBinary);
/** Why the real cluster cannot run here (null: it can). For describe.skipIf outside CI. */
export const realClusterMissing: string | null = kubeBinaries instanceof Error ? kubeBinaries.message : envoyBinary.path ? null : envoyBinary.reason;

type Json = Record<string, any>;

export interface PolicyRule { apiGroups: string[]; resources: string[]; verbs: string[] }

export interface EnvoyPodSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** Containers of the pod (default: [app, istio-proxy] with app = labels.app or the name's first part). */
  containers?: string[];
  serviceAccount?: string;
  /** Lines of each container's log (written in CRI format, served by kwok's Logs object). */
  logs?: Record<string, string[]>;
  /**
   * Port 15000 of the pod: 'envoy' (default: a real Envoy of its own, node id `nodeId`), a port on
   * 127.0.0.1 (e.g. one nothing listens on), or null (no PortForward object at all).
   */
  admin?: 'envoy' | number | null;
  nodeId?: string;
  /** More ports of the pod, forwarded to these ports of 127.0.0.1 (e.g. one nothing listens on). */
  forwards?: Record<number, number>;
  /** Annotations of the pod. */
  annotations?: Record<string, string>;
  /** Extra fields of the pod's spec (merged over the generated one). */
  spec?: Json;
}

export interface RealPod { namespace: string; name: string; envoy: RunningEnvoy | null; uid: string }

export interface RealCluster {
  cp: KubeControlPlane;
  /** A scratch directory of the test file (removed by stop). */
  dir: string;
  /** The API as cluster-admin. */
  api: KubeControlPlane['api'];
  /** A kubeconfig file with cluster-admin rights (client certificate) under context `context`. */
  adminKubeconfig(context?: string): string;
  /** Server-side apply (force) of objects, in order; returns the answers. */
  apply(objects: Json[], manager?: string): Promise<Json[]>;
  /** A pod on kwok's node with a real Envoy behind port 15000 (see EnvoyPodSpec); resolves once Ready. */
  envoyPod(spec: EnvoyPodSpec): Promise<RealPod>;
  /**
   * A ServiceAccount (in `default`) bound cluster-wide to a ClusterRole of `rules`, and a kubeconfig
   * with its token (TokenRequest) under context `name`.
   */
  serviceAccountKubeconfig(name: string, rules: PolicyRule[]): Promise<string>;
  /** Wait until Istio's CRDs (the pinned release's) are installed and served. */
  installIstioCrds(): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** pilot-agent's `request` command (istio pilot/pkg/request/command.go), against the pod's real Envoy. */
const PILOT_AGENT = `#!/usr/bin/env node
const http = require('node:http');
const args = process.argv.slice(2);
let port = Number(process.env.MESH_VERIFY_TEST_ENVOY_ADMIN);
const rest = [];
for (let i = 0; i < args.length; i++) { if (args[i] === '--debug-port') { port = Number(args[++i]); } else rest.push(args[i]); }
if (rest[0] !== 'request') { process.stderr.write('Error: unknown command "' + (rest[0] || '') + '" for "pilot-agent"\\n'); process.exit(1); }
const [, method, path] = rest;
if (!method || !path) { process.stderr.write('Error: requires at least 2 arg(s), only received ' + (rest.length - 1) + '\\n'); process.exit(1); }
const req = http.request({ host: '127.0.0.1', port, method, path: '/' + path.replace(/^\\/+/, '') }, (res) => {
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    if (res.statusCode >= 400 && res.statusCode !== 404) { process.stderr.write('Error: received unsuccessful status code ' + res.statusCode + ': ' + body + '\\n'); process.exit(1); }
    process.stdout.write(body + '\\n');
  });
});
req.on('error', (e) => { process.stderr.write('Error: ' + e.message + '\\n'); process.exit(1); });
req.end();
`;

/** Start the control plane (and the test file's scratch directory). */
export async function startRealCluster(opts: { apiserverFlags?: string[] } = {}): Promise<RealCluster> {
  if (kubeBinaries instanceof Error) throw kubeBinaries;
  if (!envoyBinary.path) throw new Error(`no Envoy ${envoyBinary.reason}`);
  const dir = mkdtempSync(join(tmpdir(), 'mv-real-cluster-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'pilot-agent'), PILOT_AGENT);
  chmodSync(join(bin, 'pilot-agent'), 0o755);
  // kwok runs an Exec object's commands as its own children: they are looked up on its PATH.
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path ?? ''}`;
  let cp: KubeControlPlane;
  try {
    cp = await startKubeControlPlane({ binaries: kubeBinaries, apiserverFlags: opts.apiserverFlags });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    process.env.PATH = path;
  }
  const envoys: RunningEnvoy[] = [];
  const ok = (what: string, r: { status: number; body: any }, codes = [200, 201]) => {
    if (!codes.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`.slice(0, 600));
    return r.body as Json;
  };
  const kube = labKube(cp);
  const apply = async (objects: Json[], manager = 'mesh-verify-test') => {
    const out: Json[] = [];
    for (const o of objects) out.push(await kube.apply(o, manager));
    return out;
  };
  const adminKubeconfig = (context = 'lab') => {
    const file = join(dir, `admin-${context}.kubeconfig`);
    const cfg = JSON.parse(readFileSync(cp.kubeconfig, 'utf8')) as Json;
    cfg['current-context'] = context;
    cfg.contexts[0].name = context;
    writeFileSync(file, JSON.stringify(cfg));
    return file;
  };
  const logDir = join(dir, 'pod-logs');
  mkdirSync(logDir);
  let crds: Promise<void> | null = null;
  return {
    cp, dir, api: cp.api, apply, adminKubeconfig,
    async envoyPod(s) {
      const app = s.labels?.app ?? s.name.split('-')[0]!;
      const containers = s.containers ?? [app, 'istio-proxy'];
      const sa = s.serviceAccount ?? app;
      const admin = s.admin === undefined ? 'envoy' : s.admin;
      const envoy = admin === 'envoy'
        ? await startEnvoy(envoyBinary.path!, () => ({ node: { id: s.nodeId ?? `sidecar~10.244.0.9~${s.name}.${s.namespace}~${s.namespace}.svc.cluster.local`, cluster: `${app}.${s.namespace}` } }), s.name)
        : null;
      if (envoy) envoys.push(envoy);
      const adminPort = envoy ? envoy.adminPort : admin;
      const files = containers.map((c) => {
        const file = join(logDir, `${s.namespace}_${s.name}_${c}.log`);
        const stamp = new Date().toISOString();
        writeFileSync(file, (s.logs?.[c] ?? []).map((l) => `${stamp} stdout F ${l}\n`).join(''));
        return { c, file };
      });
      const kwok = 'kwok.x-k8s.io/v1alpha1';
      await apply([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.namespace } },
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: s.namespace } },
        ...(adminPort === null && !s.forwards ? [] : [{
          apiVersion: kwok, kind: 'PortForward', metadata: { name: s.name, namespace: s.namespace },
          spec: { forwards: [...(adminPort === null ? [] : [[15000, adminPort]]), ...Object.entries(s.forwards ?? {})].map(([from, to]) => ({ ports: [Number(from)], target: { address: '127.0.0.1', port: Number(to) } })) },
        }]),
        { apiVersion: kwok, kind: 'Logs', metadata: { name: s.name, namespace: s.namespace }, spec: { logs: files.map(({ c, file }) => ({ containers: [c], logsFile: file, follow: false })) } },
        ...(adminPort === null ? [] : [{ apiVersion: kwok, kind: 'Exec', metadata: { name: s.name, namespace: s.namespace }, spec: { execs: [{ containers: ['istio-proxy'], local: { envs: [{ name: 'MESH_VERIFY_TEST_ENVOY_ADMIN', value: String(adminPort) }] } }] } }]),
      ]);
      const [pod] = await apply([{
        apiVersion: 'v1', kind: 'Pod', metadata: { name: s.name, namespace: s.namespace, labels: s.labels ?? { app }, ...(s.annotations ? { annotations: s.annotations } : {}) },
        spec: {
          serviceAccountName: sa,
          containers: containers.map((c) => ({ name: c, image: c === 'istio-proxy' ? 'docker.io/istio/proxyv2:1.30.3' : `example.test/${c}:1`, ...(c === 'istio-proxy' ? { ports: [{ name: 'http-envoy-prom', containerPort: 15090 }] } : {}) })),
          ...(s.spec ?? {}),
        },
      }]);
      for (let i = 0; ; i += 1) {
        const r = await cp.api('GET', `/api/v1/namespaces/${s.namespace}/pods/${s.name}`);
        if ((r.body?.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True')) break;
        if (i > 240) throw new Error(`pod ${s.namespace}/${s.name} not Ready in 60 s: ${JSON.stringify(r.body?.status)}`);
        await sleep(250);
      }
      return { namespace: s.namespace, name: s.name, envoy, uid: pod!.metadata.uid };
    },
    async serviceAccountKubeconfig(name, rules) {
      await apply([
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'default' } },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `test-${name}` }, rules },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `test-${name}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `test-${name}` },
          subjects: [{ kind: 'ServiceAccount', name, namespace: 'default' }],
        },
      ]);
      const token = ok('TokenRequest', await cp.api('POST', `/api/v1/namespaces/default/serviceaccounts/${name}/token`,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } })).status.token as string;
      const file = join(dir, `${name}.kubeconfig`);
      writeFileSync(file, JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': name,
        clusters: [{ name: 'lab', cluster: { server: cp.server, 'certificate-authority-data': Buffer.from(cp.caPem).toString('base64') } }],
        users: [{ name, user: { token } }],
        contexts: [{ name, context: { cluster: 'lab', user: name } }],
      }));
      return file;
    },
    installIstioCrds() {
      crds ??= installIstioCrds(kube, cp, findIstioCrds());
      return crds;
    },
    async stop() {
      await Promise.all(envoys.splice(0).map((e) => e.stop()));
      await cp.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The username of the control plane's admin client certificate (RealCluster.adminKubeconfig). */
export const ADMIN_USER = 'mesh-verify-lab-admin';

/**
 * Count the apiserver's audit events matching `pred`, one per request: its ResponseComplete stage,
 * or for an upgrade (port-forward, exec: ResponseComplete only once the stream ends) its ResponseStarted.
 */
export function auditCount(cp: KubeControlPlane, pred: (e: ReturnType<KubeControlPlane['auditEvents']>[number]) => boolean, stage: 'ResponseComplete' | 'ResponseStarted' = 'ResponseComplete'): number {
  return cp.auditEvents().filter((e) => e.stage === stage && pred(e)).length;
}

/** Envoy's own count of accepted admin connections (listener.admin.downstream_cx_total), read on a connection of its own. */
export async function adminConnections(envoy: RunningEnvoy): Promise<number> {
  const m = /^listener\.admin\.downstream_cx_total: (\d+)$/m.exec(await envoy.admin('/stats?filter=^listener\\.admin\\.downstream_cx_total$'));
  if (!m) throw new Error('no listener.admin.downstream_cx_total in /stats');
  return Number(m[1]);
}
