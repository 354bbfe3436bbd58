import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startKubeApi, type KubeApi } from '../../../src/lab/kube/server.js';
import { startEnvoyPods, type EnvoyPods } from './envoy-pods.js';

const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
/** Versioned kubectl binaries installed beside kubectl (e.g. kubectl.1.27 ... kubectl.1.33 of the Cloud SDK). */
const KUBECTL_MINORS = (() => {
  if (!KUBECTL) return [];
  const dir = dirname(realpathSync(KUBECTL));
  return readdirSync(dir).filter((f) => /^kubectl\.1\.\d+$/.test(f)).sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2])).map((f) => join(dir, f));
})();

function kubectl(kubeconfig: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL!, ['--kubeconfig', kubeconfig, ...args], { timeout: 20_000, env: { ...process.env, KUBECONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!KUBECTL)(`kubectl (an independent client) against the API double${KUBECTL ? '' : ' (skipped: kubectl is not installed)'}`, () => {
  let proxies: EnvoyPods;
  let api: KubeApi;
  let dir: string;
  let cfg: string;
  beforeAll(async () => {
    proxies = await startEnvoyPods([{ namespace: 'mesh-verify', name: 'bff-5d8c7f6b9d-abcde', app: 'bff' }]);
    api = await startKubeApi({ pods: proxies.pods });
    api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mesh-verify' } });
    api.apply({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'mesh-verify' }, spec: { selector: { istio: 'ingressgateway' }, servers: [] } });
    api.apply({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs', namespace: 'mesh-verify' }, spec: { hosts: ['web.mesh-verify.test'], gateways: ['gw'] } });
    api.apply({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'dr', namespace: 'mesh-verify' }, spec: { host: 'bff.mesh-verify.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } });
    api.apply({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'mesh-verify' }, spec: { mtls: { mode: 'STRICT' } } });
    dir = await mkdtemp(join(tmpdir(), 'mv-kubectl-'));
    cfg = join(dir, 'kubeconfig');
    await api.writeKubeconfig(cfg);
  });
  afterAll(async () => {
    await api?.close();
    await proxies?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kubectl get pods -A prints the server-side table', async () => {
    const r = await kubectl(cfg, ['get', 'pods', '-A']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(r.stdout).toMatch(/mesh-verify\s+bff-5d8c7f6b9d-abcde\s+2\/2\s+Running\s+0/);
  });

  it('kubectl get of the Istio kinds (full names, short names, printer columns)', async () => {
    const r = await kubectl(cfg, ['get', 'gateways,virtualservices,destinationrules,peerauthentications', '-n', 'mesh-verify']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('gateway.networking.istio.io/gw');
    expect(r.stdout).toMatch(/virtualservice\.networking\.istio\.io\/vs\s+\["gw"\]\s+\["web\.mesh-verify\.test"\]/);
    expect(r.stdout).toMatch(/destinationrule\.networking\.istio\.io\/dr\s+bff\.mesh-verify\.svc\.cluster\.local/);
    expect(r.stdout).toMatch(/peerauthentication\.security\.istio\.io\/default\s+STRICT/);
    const short = await kubectl(cfg, ['get', 'pa', '-n', 'mesh-verify', '-o', 'jsonpath={.items[0].spec.mtls.mode}']);
    expect(short.stdout).toBe('STRICT');
  });

  it('kubectl apply --server-side of a YAML file, twice (create, then unchanged merge), then delete', async () => {
    const file = join(dir, 'pa.yaml');
    await writeFile(file, [
      'apiVersion: security.istio.io/v1', 'kind: PeerAuthentication', 'metadata:', '  name: svc-permissive', '  namespace: mesh-verify',
      'spec:', '  selector:', '    matchLabels:', '      app: svc', '  mtls:', '    mode: PERMISSIVE', '',
    ].join('\n'));
    for (let i = 0; i < 2; i++) {
      const r = await kubectl(cfg, ['apply', '--server-side', '-f', file]);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('peerauthentication.security.istio.io/svc-permissive serverside-applied');
    }
    const stored = api.store.get('PeerAuthentication', 'mesh-verify', 'svc-permissive');
    expect(stored?.metadata.managedFields?.map((m) => `${m.manager}/${m.operation}`)).toEqual(['kubectl/Apply']);
    const patches = api.requests.filter((r) => r.verb === 'patch' && r.name === 'svc-permissive');
    expect(patches.map((p) => p.code)).toEqual([201, 200]);
    const del = await kubectl(cfg, ['delete', '-f', file]);
    expect(del.stdout.trim()).toBe('peerauthentication.security.istio.io "svc-permissive" deleted');
    expect(api.store.get('PeerAuthentication', 'mesh-verify', 'svc-permissive')).toBeUndefined();
  });

  it('kubectl logs (container and tail) and kubectl exec pilot-agent', async () => {
    const logs = await kubectl(cfg, ['logs', '-n', 'mesh-verify', 'bff-5d8c7f6b9d-abcde', '-c', 'istio-proxy', '--tail=1']);
    expect(logs.stdout.trim().split('\n')).toHaveLength(1);
    expect(logs.stdout).toContain('req-bff-1');
    const app = await kubectl(cfg, ['logs', '-n', 'mesh-verify', 'bff-5d8c7f6b9d-abcde']);
    expect(app.stdout.trim()).toBe('bff listening on 8080'); // default container from the annotation
    const exec = await kubectl(cfg, ['exec', '-n', 'mesh-verify', 'bff-5d8c7f6b9d-abcde', '-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', 'server_info']);
    expect(exec.code).toBe(0);
    expect(JSON.parse(exec.stdout)).toMatchObject({ state: 'LIVE' });
  });

  /** `kubectl port-forward` in the background: the local port it prints, and a way to stop it. */
  async function portForward(args: string[], env: Record<string, string> = {}, bin = KUBECTL!) {
    const child = spawn(bin, ['--kubeconfig', cfg, 'port-forward', ...args], { env: { ...process.env, KUBECONFIG: '', ...env } });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`kubectl port-forward exited (${code}): ${stderr}`)));
    });
    const stop = async () => { child.kill('SIGTERM'); if (child.exitCode === null) await new Promise((r) => child.once('exit', r)); };
    return { port, stop, stderr: () => stderr };
  }

  for (const [mode, env] of [['SPDY tunnelled in a WebSocket (kubectl >= 1.31)', {}], ['the SPDY/3.1 upgrade (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }]] as const) {
    it(`kubectl port-forward over ${mode} reaches the admin port, one stream pair per connection`, async () => {
      const before = api.requests.filter((r) => r.subresource === 'portforward' && r.code === 101).length;
      const pf = await portForward(['-n', 'mesh-verify', 'pod/bff-5d8c7f6b9d-abcde', ':15000'], env);
      try {
        for (let i = 0; i < 2; i++) {
          const res = await fetch(`http://127.0.0.1:${pf.port}/server_info`, { headers: { connection: 'close' } });
          expect(res.status).toBe(200);
          expect(await res.json()).toMatchObject({ state: 'LIVE' });
        }
      } finally {
        await pf.stop();
      }
      expect(api.requests.filter((r) => r.subresource === 'portforward' && r.code === 101).length - before).toBe(1);
      expect(pf.stderr()).not.toMatch(/error|fallback/i);
    });
  }

  it.skipIf(KUBECTL_MINORS.length === 0)(`kubectl port-forward of every installed minor (${KUBECTL_MINORS.map((b) => b.split('kubectl.')[1]).join(', ') || 'skipped: no kubectl.1.NN beside kubectl'}): SPDY up to 1.30, the WebSocket tunnel from 1.31`, async () => {
    const modes: string[] = [];
    for (const bin of KUBECTL_MINORS) {
      const pf = await portForward(['-n', 'mesh-verify', 'pod/bff-5d8c7f6b9d-abcde', ':15000', '-v=4'], {}, bin);
      try {
        const res = await fetch(`http://127.0.0.1:${pf.port}/server_info`);
        expect(res.status, bin).toBe(200);
        expect(await res.json()).toMatchObject({ state: 'LIVE' });
      } finally {
        await pf.stop();
      }
      const minor = Number(bin.split('.').pop());
      const tunnel = /negotiated protocol/.test(pf.stderr());
      expect(tunnel, `${bin}: ${pf.stderr().split('\n').filter((l) => /tunnel|fallback|negotiat/i.test(l)).join(' | ')}`).toBe(minor >= 31);
      expect(pf.stderr()).not.toMatch(/fallback/);
      modes.push(`${minor}:${tunnel ? 'tunnel' : 'spdy'}`);
    }
    expect(modes.length).toBe(KUBECTL_MINORS.length);
  });

  it('kubectl port-forward to a port nothing listens on reports the refused connection from the error stream', async () => {
    const pf = await portForward(['-n', 'mesh-verify', 'pod/bff-5d8c7f6b9d-abcde', ':15001']);
    try {
      await expect(fetch(`http://127.0.0.1:${pf.port}/ready`)).rejects.toThrow();
      for (let i = 0; i < 100 && !/connection refused/.test(pf.stderr()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(pf.stderr()).toMatch(/error forwarding port 15001 to pod bff-5d8c7f6b9d-abcde.*connection refused/);
    } finally {
      await pf.stop();
    }
  });
});
