import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type StartedLab } from '../../src/lab/lab.js';
import { createGatewayCredential, leafSha256 } from '../../src/topology/credentials.js';
import { runCli } from '../helpers/cli-in-process.js';

describe('path --kubeconfig against a running lab (what `lab up` suggests)', () => {
  // One lab for the tests that leave it as they found it (the credential test, which leaves an
  // older credential stored, runs last of them).
  let lab: StartedLab;
  beforeAll(async () => { lab = await startLab({}); });
  afterAll(async () => { await lab?.stop(); });

  it('is recognised as the lab (ConfigMap kube-public/mesh-verify-lab) and says so; --entry reaches the NLB', async () => {
    {
      const r = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--entry', `${lab.nlb.host}:${lab.nlb.port}`,
        '--no-deploy', '--requests', '3', '-o', 'json', '-q');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const report = JSON.parse(r.stdout) as { overall: string; target: { kind: string; simulated: boolean; description: string } };
      expect(report.overall).toBe('proven');
      expect(report.target).toMatchObject({ kind: 'lab', simulated: true });
      expect(report.target.description).toMatch(/mesh-verify lab on this machine: real Envoy and real TLS behind a real Kubernetes [\d.]+ control plane .*; the node and container runtime \(kwok [\d.]+\) and istiod are simulated; not a cluster, reached through kubeconfig context/);
    }
  });

  it('without --entry finds the NLB the lab publishes on its gateway Service (what `lab up` suggests must work as printed)', async () => {
    {
      const dir = await mkdtemp(join(tmpdir(), 'mv-entry-'));
      const bundleFile = join(dir, 'bundle.json');
      const r = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--no-deploy', '--requests', '3', '-o', 'json', '-q', '--bundle', bundleFile);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect((JSON.parse(r.stdout) as { overall: string }).overall).toBe('proven');
      const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as { path: { entry: unknown } };
      expect(bundle.path.entry).toEqual({ address: lab.nlb.host, port: lab.nlb.port, kind: 'lab-nlb' });
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an entry that refuses: an error finding with the fix, exit 3, and no "ok" for 0/N answered', async () => {
    {
      // The published NLB moves to a closed loopback port: the entry now refuses.
      await lab.kube.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'istio-ingressgateway', namespace: 'istio-system', annotations: { 'mesh-verify.io/entry': '127.0.0.1:1' } } }, 'mesh-verify-lab-nlb');
      const r = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--no-deploy', '--requests', '2', '-o', 'json');
      expect(r.status).toBe(3);
      const report = JSON.parse(r.stdout) as { overall: string; findings: { code: string; severity: string; message: string; fix: string }[] };
      expect(report.overall).toBe('inconclusive');
      const f = report.findings.find((x) => x.code === 'entry-unreachable');
      expect(f).toMatchObject({ severity: 'error', message: 'none of the 2 requests reached the gateway: the entry 127.0.0.1:1 refused the connection (connection to 127.0.0.1:1 refused)' });
      expect(f!.fix).toContain('--entry HOST:PORT');
      expect(r.stderr).toMatch(/ERR 0\/2 requests answered 200/);
      expect(r.stderr).not.toMatch(/ok +0\/2 requests/);
      await lab.kube.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'istio-ingressgateway', namespace: 'istio-system', annotations: { 'mesh-verify.io/entry': `${lab.nlb.host}:${lab.nlb.port}` } } }, 'mesh-verify-lab-nlb');
    }
  });

  it('--gateway naming a Service that does not exist: exit 4, one line', async () => {
    {
      const r = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--gateway', 'istio-ingress/istio-ingress', '--no-deploy', '-q');
      expect(r.status).toBe(4);
      expect(r.stderr).toBe('mesh-verify: ingress gateway Service istio-ingress/istio-ingress not found (fix: check --gateway NS/NAME (kubectl get svc -A -l istio))\n');
    }
  });

  it('deploying reuses the stored gateway credential while it is good, else stores a new one and waits until the gateway serves it', async () => {
    {
      const secret = async () => (await lab.kube.get('Secret', 'istio-system', 'mesh-verify-credential')) as { metadata: Record<string, unknown>; data: Record<string, string> };
      const before = (await secret()).data;
      const reuse = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--requests', '2', '-o', 'json');
      expect(reuse.status).toBe(0);
      expect(reuse.stderr).toContain('reusing the gateway credential stored in Secret istio-system/mesh-verify-credential');
      expect(reuse.stderr).toContain("serving this run's certificate");
      expect((await secret()).data).toEqual(before);

      // A credential that expires in 3 days (issued 87 days ago, for 90): replaced, and the probe
      // sees the new leaf, not the old one.
      const old = await createGatewayCredential({ now: new Date(Date.now() - 87 * 24 * 3600_000) });
      await lab.kube.apply({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'mesh-verify-credential', namespace: 'istio-system' }, data: old.secret.data });
      await lab.kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mesh-verify-gateway-ca', namespace: 'mesh-verify' }, data: { 'ca.crt': old.caPem } });
      const dir = await mkdtemp(join(tmpdir(), 'mv-cred-'));
      const bundleFile = join(dir, 'bundle.json');
      const renew = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--requests', '2', '-o', 'json', '--bundle', bundleFile);
      expect(renew.stderr).toMatch(/a new gateway credential: the stored certificate expires in [23] days \(less than 14\)/);
      expect(renew.status).toBe(0);
      // The probe saw the new leaf; afterwards the run put back the Secret it applied over (issue 9 D1),
      // so the user's own (old) credential is stored again.
      const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as { client: { peerChain: { fingerprint256: string }[] } };
      expect(bundle.client.peerChain[0].fingerprint256).not.toBe(leafSha256(old.serverCertPem));
      const stored = Buffer.from((await secret()).data['tls.crt'], 'base64').toString('utf8');
      expect(leafSha256(stored)).toBe(leafSha256(old.serverCertPem));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("warns, and notes in the bundle, what a reused Istio's mesh config will not produce", async () => {
    const lab = await startLab({ fault: 'stats-filtered' });
    try {
      const dir = await mkdtemp(join(tmpdir(), 'mv-mesh-notes-'));
      const bundleFile = join(dir, 'bundle.json');
      const r = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--entry', `${lab.nlb.host}:${lab.nlb.port}`,
        '--no-deploy', '--requests', '2', '-o', 'json', '--bundle', bundleFile);
      expect(r.stderr).toContain('reused Istio: proxyStatsMatcher does not include ssl.* stats');
      expect(r.stderr).not.toContain('access logging is off');
      const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as { run: { notes: string[] } };
      expect(bundle.run.notes.join('\n')).toContain('proxyStatsMatcher does not include ssl.* stats');
      await rm(dir, { recursive: true, force: true });
    } finally {
      await lab.stop();
    }
  });

  it('--verbose lists every evidence item behind each verdict, as analyze --verbose does', async () => {
    const r = await runCli('--verbose', 'path', '--lab', '--requests', '2', '-q');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('EVIDENCE gateway->bff-sidecar (PROVEN');
    expect(r.stdout).toMatch(/config\s+gateway config_dump: cluster outbound\|8080\|\|bff\.mesh-verify\.svc\.cluster\.local/);
  });

  it('rejects a malformed --entry as a usage error', async () => {
    const r = await runCli('path', '--kubeconfig', 'whatever', '--entry', 'no-port');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--entry must be HOST:PORT');
  });
});
