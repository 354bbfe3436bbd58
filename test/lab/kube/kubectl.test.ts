import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { adminConnections, realClusterMissing, startRealCluster, type RealCluster, type RealPod } from '../../helpers/real-cluster.js';

const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
if (process.env.CI && !KUBECTL) throw new Error('kubectl is not installed');
/** Versioned kubectl binaries installed beside kubectl (e.g. kubectl.1.27 ... kubectl.1.33 of the Cloud SDK). */
const KUBECTL_MINORS = (() => {
  if (!KUBECTL) return [];
  const dir = dirname(realpathSync(KUBECTL));
  return readdirSync(dir).filter((f) => /^kubectl\.1\.\d+$/.test(f)).sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2])).map((f) => join(dir, f));
})();
const POD = 'bff-5d8c7f6b9d-abcde';

/**
 * kubectl, an independent client, against the REAL control plane: kube-apiserver (its tables,
 * Istio's real CRDs, server-side apply, RBAC, audit log), kwok as the kubelet (logs, exec,
 * port-forward) and a real Envoy behind the pod's port 15000.
 */
describe.skipIf(!KUBECTL || realClusterMissing !== null)(`kubectl against the real kube-apiserver${KUBECTL ? '' : ' (skipped: kubectl is not installed)'}`, () => {
  let c: RealCluster;
  let pod: RealPod;
  let cfg: string;
  const kubectl = (args: string[], bin = KUBECTL!): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
    execFile(bin, ['--kubeconfig', cfg, ...args], { timeout: 20_000, env: { ...process.env, KUBECONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });

  beforeAll(async () => {
    c = await startRealCluster();
    cfg = c.adminKubeconfig('lab');
    [pod] = await Promise.all([
      c.envoyPod({
        namespace: 'mesh-verify', name: POD, labels: { app: 'bff' }, forwards: { 15001: 1 },
        logs: { 'istio-proxy': ['{"start_time":"2020-01-01T00:00:00.000Z","x_request_id":"old-bff"}', `{"start_time":"${new Date().toISOString()}","x_request_id":"req-bff-1"}`], bff: ['bff listening on 8080'] },
      }),
      c.installIstioCrds(),
    ]);
    await c.apply([
      { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'mesh-verify' }, spec: { selector: { istio: 'ingressgateway' }, servers: [] } },
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs', namespace: 'mesh-verify' }, spec: { hosts: ['web.mesh-verify.test'], gateways: ['gw'] } },
      { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'dr', namespace: 'mesh-verify' }, spec: { host: 'bff.mesh-verify.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } },
      { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'mesh-verify' }, spec: { mtls: { mode: 'STRICT' } } },
    ]);
  }, 120_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('kubectl get pods -A prints the server-side table', async () => {
    const r = await kubectl(['get', 'pods', '-A']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(r.stdout).toMatch(new RegExp(`mesh-verify\\s+${POD}\\s+2/2\\s+Running\\s+0`));
  });

  it("kubectl get of the Istio kinds (Istio's CRDs: full names, short names, printer columns)", async () => {
    const r = await kubectl(['get', 'gateways,virtualservices,destinationrules,peerauthentications', '-n', 'mesh-verify']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('gateway.networking.istio.io/gw');
    expect(r.stdout).toMatch(/virtualservice\.networking\.istio\.io\/vs\s+\["gw"\]\s+\["web\.mesh-verify\.test"\]/);
    expect(r.stdout).toMatch(/destinationrule\.networking\.istio\.io\/dr\s+bff\.mesh-verify\.svc\.cluster\.local/);
    expect(r.stdout).toMatch(/peerauthentication\.security\.istio\.io\/default\s+STRICT/);
    const short = await kubectl(['get', 'pa', '-n', 'mesh-verify', '-o', 'jsonpath={.items[0].spec.mtls.mode}']);
    expect(short.stdout).toBe('STRICT');
  });

  it('kubectl apply --server-side of a YAML file, twice (create, then unchanged merge), then delete', async () => {
    const file = join(c.dir, 'pa.yaml');
    await writeFile(file, [
      'apiVersion: security.istio.io/v1', 'kind: PeerAuthentication', 'metadata:', '  name: svc-permissive', '  namespace: mesh-verify',
      'spec:', '  selector:', '    matchLabels:', '      app: svc', '  mtls:', '    mode: PERMISSIVE', '',
    ].join('\n'));
    const path = '/apis/security.istio.io/v1/namespaces/mesh-verify/peerauthentications/svc-permissive';
    const before = c.cp.auditEvents().length;
    for (let i = 0; i < 2; i++) {
      const r = await kubectl(['apply', '--server-side', '-f', file]);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('peerauthentication.security.istio.io/svc-permissive serverside-applied');
    }
    const stored = (await c.api('GET', path)).body;
    expect(stored.metadata.managedFields.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`)).toEqual(['kubectl/Apply']);
    const patches = c.cp.auditEvents().slice(before).filter((e) => e.stage === 'ResponseComplete' && e.verb === 'patch' && e.objectRef?.name === 'svc-permissive');
    expect(patches.map((p) => p.responseStatus?.code)).toEqual([201, 200]);
    const del = await kubectl(['delete', '-f', file]);
    expect(del.stdout.trim()).toMatch(/^peerauthentication\.security\.istio\.io "svc-permissive" deleted/);
    expect((await c.api('GET', path)).status).toBe(404);
  });

  it('kubectl logs (container and tail; kwok serves the CRI log files) and kubectl exec pilot-agent (kwok runs it)', async () => {
    const logs = await kubectl(['logs', '-n', 'mesh-verify', POD, '-c', 'istio-proxy', '--tail=1']);
    expect(logs.stdout.trim().split('\n')).toHaveLength(1);
    expect(logs.stdout).toContain('req-bff-1');
    const app = await kubectl(['logs', '-n', 'mesh-verify', POD]);
    expect(app.stdout.trim()).toBe('bff listening on 8080'); // kubectl defaults to the first container, and says so
    expect(app.stderr).toContain('Defaulted container "bff" out of: bff, istio-proxy');
    const exec = await kubectl(['exec', '-n', 'mesh-verify', POD, '-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', 'server_info']);
    expect(exec.code).toBe(0);
    expect(JSON.parse(exec.stdout)).toMatchObject({ state: 'LIVE', version: expect.stringMatching(/\/1\.38\.3\//) });
  });

  /** `kubectl port-forward` in the background: the local port it prints, and a way to stop it. */
  async function portForward(args: string[], env: Record<string, string> = {}, bin = KUBECTL!) {
    const child = spawn(bin, ['--kubeconfig', cfg, 'port-forward', ...args], { env: { ...process.env, KUBECONFIG: '', ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`kubectl port-forward exited (${code}): ${stderr}`)));
    });
    const stop = async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
    return { port, stop, stderr: () => stderr };
  }
  /** The port-forward upgrades the apiserver answered since `from` (audit log): their verb (SPDY is a POST, create; WebSocket a GET, get). */
  const upgrades = (from: number) => c.cp.auditEvents().slice(from)
    .filter((e) => e.stage === 'ResponseStarted' && e.objectRef?.subresource === 'portforward' && e.responseStatus?.code === 101).map((e) => e.verb);

  for (const [mode, ws, verb] of [['the SPDY/3.1 upgrade (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)', 'false', 'create'], ['SPDY tunnelled in a WebSocket (KUBECTL_PORT_FORWARD_WEBSOCKETS=true)', 'true', 'get']] as const) {
    it(`kubectl port-forward over ${mode} reaches the real Envoy through kwok, one upgrade for the session and one admin connection per TCP connection`, async () => {
      const before = c.cp.auditEvents().length;
      const conns = await adminConnections(pod.envoy!);
      const pf = await portForward(['-n', 'mesh-verify', `pod/${POD}`, ':15000'], { KUBECTL_PORT_FORWARD_WEBSOCKETS: ws });
      try {
        for (let i = 0; i < 2; i++) {
          const res = await fetch(`http://127.0.0.1:${pf.port}/server_info`, { headers: { connection: 'close' } });
          expect(res.status).toBe(200);
          expect(await res.json()).toMatchObject({ state: 'LIVE' });
        }
      } finally {
        await pf.stop();
      }
      expect(upgrades(before)).toEqual([verb]);
      // Two connections through the forward, and this read of the stats.
      expect(await adminConnections(pod.envoy!) - conns).toBe(3);
      expect(pf.stderr()).not.toMatch(/error|fallback/i);
    });
  }

  it.skipIf(KUBECTL_MINORS.length === 0)(`kubectl port-forward of every installed minor (${KUBECTL_MINORS.map((b) => b.split('kubectl.')[1]).join(', ') || 'skipped: no kubectl.1.NN beside kubectl'}), SPDY and WebSocket: the WebSocket from 1.30 when asked, by default from 1.31`, async () => {
    const modes: string[] = [];
    for (const bin of KUBECTL_MINORS) {
      const minor = Number(bin.split('.').pop());
      for (const ws of ['false', 'true', undefined]) {
        const before = c.cp.auditEvents().length;
        const pf = await portForward(['-n', 'mesh-verify', `pod/${POD}`, ':15000'], ws === undefined ? {} : { KUBECTL_PORT_FORWARD_WEBSOCKETS: ws }, bin);
        try {
          const res = await fetch(`http://127.0.0.1:${pf.port}/server_info`);
          expect(res.status, bin).toBe(200);
          expect(await res.json()).toMatchObject({ state: 'LIVE' });
        } finally {
          await pf.stop();
        }
        // KUBECTL_PORT_FORWARD_WEBSOCKETS: alpha (off unless true) in 1.30, beta (on unless false) from 1.31.
        const websocket = ws === 'true' ? minor >= 30 : ws === undefined ? minor >= 31 : false;
        expect(upgrades(before), `${bin} KUBECTL_PORT_FORWARD_WEBSOCKETS=${ws}`).toEqual([websocket ? 'get' : 'create']);
        expect(pf.stderr()).not.toMatch(/fallback/);
        modes.push(`${minor}/${ws ?? 'default'}:${websocket ? 'websocket' : 'spdy'}`);
      }
    }
    expect(modes.length).toBe(KUBECTL_MINORS.length * 3);
  }, 180_000);

  it('kubectl port-forward to a port that refuses reports the refused connection from the error stream', async () => {
    const pf = await portForward(['-n', 'mesh-verify', `pod/${POD}`, ':15001']);
    try {
      await fetch(`http://127.0.0.1:${pf.port}/ready`).then((r) => r.text()).catch(() => null);
      for (let i = 0; i < 100 && !/connection refused/.test(pf.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
      expect(pf.stderr()).toMatch(/error forwarding port 15001 to pod .*connection refused/);
    } finally {
      await pf.stop();
    }
  });
});
