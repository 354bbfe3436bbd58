import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdminTransport } from '../../src/cluster/admin-transport.js';
import { connectKube, type KubeClients } from '../../src/cluster/kube-client.js';
import { auditAccessChecks, checkRights, pathAccessChecks } from '../../src/cluster/preflight.js';
import { findKubeBinaries, pinnedKube } from '../../src/lab/kube-binaries.js';
import { startKubeControlPlane, type KubeControlPlane } from '../../src/lab/kube-control-plane.js';
import { runCli } from '../helpers/cli-in-process.js';
import { realEnvoyPath, requireEnvoyInCi, startEnvoy, type RunningEnvoy } from '../helpers/real-envoy.js';

const run = promisify(execFile);

/**
 * The real control plane (kube-apiserver, kube-controller-manager, kube-scheduler 1.35, etcd 3.6,
 * kwok) on loopback, with kubectl as the independent client. In CI a missing binary fails.
 */
const bins = (() => { try { return findKubeBinaries(); } catch (e) { return e as Error; } })();
if (process.env.CI && bins instanceof Error) throw bins;
const envoy = realEnvoyPath();
requireEnvoyInCi(envoy);

describe.skipIf(bins instanceof Error || !envoy.path)('the lab control plane: real kube-apiserver, controllers, scheduler, etcd and kwok', () => {
  let cp: KubeControlPlane;
  let admin: RunningEnvoy;
  const tmp = mkdtempSync(join(tmpdir(), 'mv-kcp-test-'));
  const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', cp.kubeconfig, ...args], { timeout: 30_000 });

  beforeAll(async () => {
    [cp, admin] = await Promise.all([
      startKubeControlPlane(),
      startEnvoy(envoy.path!, () => ({ node: { id: 'bff-1', cluster: 'bff.mesh-verify' } }), 'bff-admin'),
    ]);
  }, 120_000);
  afterAll(async () => {
    await admin?.stop();
    await cp?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is the pinned Kubernetes, as kubectl sees it', async () => {
    const { stdout } = await kubectl('version', '-o', 'json');
    expect((JSON.parse(stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion).toBe(`v${pinnedKube().kubernetes}`);
    const nodes = JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout) as { items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] };
    expect(nodes.items.map((n) => n.metadata.name)).toEqual([cp.nodeName]);
  });

  it('runs a Deployment the way a cluster does: ReplicaSet, scheduled Pod with an IP from kwok, EndpointSlice', async () => {
    const ns = 'kcp-deploy';
    const manifest = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'svc', namespace: ns },
        spec: {
          replicas: 1, selector: { matchLabels: { app: 'svc' } },
          template: { metadata: { labels: { app: 'svc' } }, spec: { containers: [{ name: 'app', image: 'node:20', ports: [{ containerPort: 8080 }] }] } },
        },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: ns }, spec: { selector: { app: 'svc' }, ports: [{ name: 'http', port: 8080 }] } },
    ];
    const file = join(tmp, 'deploy.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifest }));
    await kubectl('apply', '-f', file);
    await kubectl('wait', '-n', ns, '--for=condition=Available', 'deployment/svc', '--timeout=60s');
    const pods = JSON.parse((await kubectl('get', 'pods', '-n', ns, '-o', 'json')).stdout) as { items: { spec: { nodeName: string }; status: { phase: string; podIP: string } }[] };
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0]!;
    expect(pod.spec.nodeName).toBe(cp.nodeName);
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.podIP.startsWith(cp.podCidr.replace(/0\/24$/, ''))).toBe(true);
    // The EndpointSlice controller (in kube-controller-manager) lists the pod as ready.
    let addresses: string[] = [];
    for (let i = 0; i < 40 && addresses.length === 0; i += 1) {
      const slices = JSON.parse((await kubectl('get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=svc', '-o', 'json')).stdout) as { items: { endpoints?: { addresses: string[]; conditions: { ready: boolean } }[] }[] };
      addresses = slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions.ready).flatMap((e) => e.addresses));
      if (addresses.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(addresses).toEqual([pod.status.podIP]);
  }, 90_000);

  describe('port-forward through the real apiserver and kwok to a real Envoy admin port, under real RBAC', () => {
    const ns = 'mesh-verify';
    const podName = 'bff-0';
    const kubeconfigFor = (sa: string) => join(tmp, `${sa}.kubeconfig`);
    const asServiceAccount = async (sa: string): Promise<KubeClients> => {
      const r = await cp.api('POST', `/api/v1/namespaces/default/serviceaccounts/${sa}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
      expect(r.status).toBe(201);
      const file = kubeconfigFor(sa);
      writeFileSync(file, JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': sa,
        clusters: [{ name: 'lab', cluster: { server: cp.server, 'certificate-authority-data': Buffer.from(cp.caPem).toString('base64') } }],
        users: [{ name: sa, user: { token: r.body.status.token } }],
        contexts: [{ name: sa, context: { cluster: 'lab', user: sa } }],
      }));
      return connectKube({ kubeconfig: file });
    };

    beforeAll(async () => {
      const pod = {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace: ns, labels: { app: 'bff' } },
        spec: { containers: [{ name: 'istio-proxy', image: 'istio/proxyv2', ports: [{ containerPort: 15000 }] }] },
      };
      // kwok's kubelet forwards the pod's port 15000 to the Envoy's admin (kwok.x-k8s.io PortForward).
      const forward = {
        apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'PortForward', metadata: { name: podName, namespace: ns },
        spec: { forwards: [{ ports: [15000], target: { address: '127.0.0.1', port: admin.adminPort } }] },
      };
      const roles = parseAllDocuments(readFileSync('fixtures/rbac/audit-readonly.yaml', 'utf8')).map((d) => d.toJS() as object);
      const items = [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, pod, forward,
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'mesh-verify-audit', namespace: 'default' } },
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'no-create', namespace: 'default' } },
        // What an audit role written before Kubernetes 1.35 looks like: get on pods/portforward only.
        {
          apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'portforward-get-only' },
          rules: [{ apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list'] }, { apiGroups: [''], resources: ['pods/portforward', 'pods/exec'], verbs: ['get'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'portforward-get-only' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'portforward-get-only' },
          subjects: [{ kind: 'ServiceAccount', name: 'no-create', namespace: 'default' }],
        },
        ...roles,
      ];
      const file = join(tmp, 'forward.json');
      writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      await kubectl('apply', '-f', file);
      await kubectl('wait', '-n', ns, '--for=condition=Ready', `pod/${podName}`, '--timeout=60s');
    }, 90_000);

    it('mesh-verify reaches the Envoy with exactly the rights of fixtures/rbac/audit-readonly.yaml', async () => {
      const c = await asServiceAccount('mesh-verify-audit');
      expect((await checkRights(c, auditAccessChecks())).warning).toBeNull();
      expect((await checkRights(c, auditAccessChecks([ns]))).warning).toBeNull();
      const t = await openAdminTransport(c, { namespace: ns, name: podName }, { allowExec: false });
      try {
        const info = await t.get('/server_info');
        expect(info.status).toBe(200);
        expect((JSON.parse(info.body) as { node: { id: string } }).node.id).toBe('bff-1');
        expect(t.via).toBe('port-forward');
      } finally { await t.close(); }
    }, 60_000);

    it('mesh-verify audit runs with exactly those rights, and one line naming the missing ones without them', async () => {
      await asServiceAccount('mesh-verify-audit');
      const ok = await runCli('audit', '--kubeconfig', kubeconfigFor('mesh-verify-audit'), '-n', ns, '--no-exec', '-o', 'json', '-q');
      expect(ok.stderr).not.toMatch(/not enough rights/);
      const report = JSON.parse(ok.stdout) as { proxies: { total: number; read: number } };
      expect(report.proxies).toMatchObject({ total: 1, read: 1 });
      await asServiceAccount('no-create');
      const denied = await runCli('audit', '--kubeconfig', kubeconfigFor('no-create'), '-n', ns, '-o', 'json', '-q');
      expect(denied.status).toBe(4);
      expect(denied.stdout).toBe('');
      expect(denied.stderr).toMatch(/not enough rights on context no-create: cannot list services in mesh-verify/);
      expect(denied.stderr).toMatch(/audit-readonly\.yaml/);
    }, 90_000);

    it('Kubernetes 1.35 refuses the WebSocket port-forward without create, and the preflight says so first', async () => {
      const c = await asServiceAccount('no-create');
      const err = (await checkRights(c, pathAccessChecks({ deploy: false, gatewayNamespace: ns })).then(() => null, (e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toContain('create pods/portforward in mesh-verify');
      expect(err.message).not.toContain('get pods/portforward');
      const refused = (await openAdminTransport(c, { namespace: ns, name: podName }, { allowExec: false }).then(async (t) => { await t.close(); return null; }, (e: unknown) => e)) as Error;
      expect(refused).toBeInstanceOf(Error);
      expect(refused.message).toMatch(/HTTP 403/);
    }, 60_000);

    it('kubectl port-forward reaches the same Envoy through the same path', async () => {
      const child = execFile('kubectl', ['--kubeconfig', cp.kubeconfig, 'port-forward', '-n', ns, `pod/${podName}`, ':15000'], { timeout: 30_000 });
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          child.stdout!.on('data', (c: Buffer) => { out += c.toString(); const m = /127\.0\.0\.1:(\d+) ->/.exec(out); if (m) resolve(Number(m[1])); });
          child.once('exit', (code) => reject(new Error(`kubectl port-forward exited ${code}: ${out}`)));
        });
        const res = await fetch(`http://127.0.0.1:${port}/server_info`);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { node: { id: string } }).node.id).toBe('bff-1');
      } finally { child.kill(); }
    }, 60_000);
  });

  it('stops every process it started and removes its files', async () => {
    const other = await startKubeControlPlane();
    const dir = other.kubeconfig.replace(/\/admin\.kubeconfig$/, '');
    const { stdout } = await run('ps', ['-eo', 'args']);
    expect(stdout.split('\n').filter((l) => l.includes(dir)).length).toBeGreaterThanOrEqual(5);
    await other.stop();
    const after = (await run('ps', ['-eo', 'args'])).stdout.split('\n').filter((l) => l.includes(dir));
    expect(after).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);
});
