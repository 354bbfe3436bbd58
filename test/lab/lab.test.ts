import { describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, CoreV1Api } from '@kubernetes/client-node';
import { startLab } from '../../src/lab/lab.js';
import { runLabUp } from '../../src/cli/commands/lab.js';
import { main } from '../../src/cli/main.js';
import { ownListeningPorts } from '../helpers/own-listeners.js';

function send(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => s.write(text));
    let got = '';
    s.on('data', (c) => { got += c; });
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
  });
}

function portClosed(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
}

describe('startLab (real Envoy data plane)', () => {
  it('seeds a kind cluster with Istio and the reference topology, consistent with the pods', async () => {
    const lab = await startLab({});
    try {
      expect(lab.simulated).toBe(true);
      const s = lab.api.store;
      expect(s.get('Namespace', undefined, 'mesh-verify')?.metadata.labels?.['istio-injection']).toBe('enabled');
      expect((s.get('Deployment', 'istio-system', 'istiod') as any).spec.template.spec.containers[0].image).toMatch(/^docker\.io\/istio\/pilot:\d+\.\d+\.\d+$/);
      expect(s.list('Pod', 'istio-system').map((p) => p.metadata.labels?.app).sort()).toEqual(['istio-ingressgateway', 'istiod']);
      const gwSvc = s.get('Service', 'istio-system', 'istio-ingressgateway') as any;
      expect(gwSvc.spec.type).toBe('NodePort');
      expect(gwSvc.spec.ports.find((p: any) => p.name === 'https')).toMatchObject({ port: 443, targetPort: 8443, nodePort: 30443 });
      for (const ns of ['istio-system', 'mesh-verify', 'default']) expect((s.get('ConfigMap', ns, 'istio-ca-root-cert') as any).data['root-cert.pem']).toBe(lab.meshRootPem);
      expect((s.get('PeerAuthentication', 'mesh-verify', 'default') as any).spec.mtls.mode).toBe('STRICT');
      expect((s.get('DestinationRule', 'mesh-verify', 'bff') as any).spec.trafficPolicy.tls.mode).toBe('ISTIO_MUTUAL');
      expect(s.get('Gateway', 'mesh-verify', 'mesh-verify-gateway')).toBeDefined();
      expect(s.get('VirtualService', 'mesh-verify', 'bff')).toBeDefined();
      // Deployments backed by lab pods get no simulated pods of their own; pod IPs are the lab's loopback addresses.
      expect(s.list('Pod', 'mesh-verify').map((p) => p.metadata.name).sort()).toEqual(lab.pods().filter((p) => p.namespace === 'mesh-verify').map((p) => p.name).sort());
      for (const p of lab.pods()) expect((s.get('Pod', p.namespace, p.name) as any).status.podIP).toBe(p.ip);
      expect(lab.envoy.version).toMatch(/^\d+\.\d+\.\d+/);
      const mode = statSync(lab.kubeconfigPath).mode & 0o777;
      expect(mode).toBe(0o600);
    } finally {
      await lab.stop();
    }
  });

  it('faults seed matching objects, and the data plane starts with the state they imply', async () => {
    const lab = await startLab({ fault: 'permissive-svc' });
    try {
      expect(lab.state.inbound.svc).toBe('PERMISSIVE');
      expect(lab.state.plaintextCallerToSvc).toBe(true);
      expect(lab.api.store.get('Deployment', 'mesh-verify', 'plaintext-caller')).toBeDefined();
    } finally { await lab.stop(); }
    const lab2 = await startLab({ fault: 'plaintext-gateway-bff' });
    try {
      expect(lab2.state).toMatchObject({ gatewayToBff: 'plaintext', inbound: { bff: 'PERMISSIVE', svc: 'STRICT' } });
    } finally { await lab2.stop(); }
  });

  it('applying PeerAuthentication PERMISSIVE through the API changes svc inbound behaviour (plaintext accepted afterwards)', async () => {
    const lab = await startLab({});
    try {
      const svc = lab.pods().find((p) => p.app === 'svc')!;
      // STRICT: the real Envoy's virtualInbound has no plaintext chain and closes the connection.
      expect(await send(svc.ip, 8080, 'GET / HTTP/1.1\r\nHost: svc\r\n\r\n')).toBe('');
      const kc = new KubeConfig();
      kc.loadFromFile(lab.kubeconfigPath);
      await KubernetesObjectApi.makeApiClient(kc).patch({
        apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'svc-permissive', namespace: 'mesh-verify' },
        spec: { selector: { matchLabels: { app: 'svc' } }, mtls: { mode: 'PERMISSIVE' } },
      } as never, undefined, undefined, 'test', true, PatchStrategy.ServerSideApply);
      await lab.settled();
      expect(lab.state.inbound).toEqual({ bff: 'STRICT', svc: 'PERMISSIVE' });
      // PERMISSIVE: the new listener version has the raw_buffer chain; the real app answers.
      const answer = await send(svc.ip, 8080, 'GET / HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n');
      expect(answer).toContain('200 OK');
      expect(answer).toContain('"service":"svc"');
    } finally { await lab.stop(); }
  });

  it('starts and stops 5 times in a row without leaking ports, processes or handles', async () => {
    const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const listeningBefore = ownListeningPorts();
    const ports: number[] = [];
    const endpoints: [string, number][] = [];
    for (let i = 0; i < 5; i++) {
      const lab = await startLab({});
      const core = new KubeConfig();
      core.loadFromFile(lab.kubeconfigPath);
      await core.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      const svc = lab.pods().find((p) => p.app === 'svc')!;
      const labPorts = [Number(new URL(lab.apiServerUrl).port)];
      if (listeningBefore) for (const p of labPorts) expect(ownListeningPorts()!.has(p)).toBe(true);
      ports.push(...labPorts);
      endpoints.push([lab.nlb.host, lab.nlb.port], [svc.ip, 8080], [svc.ip, 15000]);
      const file = lab.kubeconfigPath;
      await lab.stop();
      expect(existsSync(file)).toBe(false);
    }
    if (listeningBefore) {
      const now = ownListeningPorts()!;
      expect(ports.filter((p) => now.has(p))).toEqual([]);
      expect([...now].filter((p) => !listeningBefore.has(p))).toEqual([]);
    } else {
      for (const p of ports) expect(await portClosed(p)).toBe(true);
    }
    // The Envoys and apps are gone: their addresses refuse connections.
    for (const [h, p] of endpoints) expect(await portClosed(p, h)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    const after = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    expect(after).toBeLessThanOrEqual(baseline + 2);
  });
});

describe('mesh-verify lab up', () => {
  it('prints the NLB, the kubeconfig and example commands, says it is a simulation, and stops on abort', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mv-labup-'));
    const out: string[] = [];
    const ac = new AbortController();
    const kubeconfigOut = join(dir, 'lab.kubeconfig');
    const running = runLabUp({ fault: null, kubeconfigOut, quiet: true, signal: ac.signal, out: (t) => out.push(t) });
    while (out.length === 0) await new Promise((r) => setTimeout(r, 20));
    const text = out.join('');
    expect(text).toContain('real Envoy');
    expect(text).toContain('simulated Kubernetes API');
    expect(text).toMatch(/NLB\s+127\.\d+\.\d+\.1:\d+/);
    expect(text).toContain(`kubectl --kubeconfig ${kubeconfigOut} get pods -A`);
    expect(text).toContain('curl --resolve web.mesh-verify.test:');
    const nlbAddr = /NLB\s+(127\.\d+\.\d+\.1:\d+)/.exec(text)![1];
    expect(text).toContain(`mesh-verify path --kubeconfig ${kubeconfigOut} --entry ${nlbAddr}`);
    expect(text).toContain(`mesh-verify audit --kubeconfig ${kubeconfigOut}`);
    const api = Number(/API server\s+https:\/\/127\.0\.0\.1:(\d+)/.exec(text)![1]);
    ac.abort();
    expect(await running).toBe(0);
    const own = ownListeningPorts();
    if (own) expect(own.has(api)).toBe(false);
    else expect(await portClosed(api)).toBe(true);
    expect(existsSync(kubeconfigOut)).toBe(true); // --kubeconfig-out is kept
    await rm(dir, { recursive: true, force: true });
  });

  it('an unknown fault is a usage error (exit 2) listing the valid names', async () => {
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string) => { writes.push(String(c)); return true; }) as typeof process.stderr.write;
    try {
      expect(await main(['node', 'mesh-verify', 'lab', 'up', '--fault', 'bogus'])).toBe(2);
    } finally {
      process.stderr.write = orig;
    }
    expect(writes.join('')).toContain('unknown fault "bogus"');
    expect(writes.join('')).toContain('permissive-svc');
  });
});
