import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { startLab } from '../../src/lab/lab.js';
import { runLabUp } from '../../src/cli/commands/lab.js';
import { main } from '../../src/cli/main.js';
import { APP_CONFIGMAP, appConfigMap } from '../../src/topology/manifests.js';
import { appSourcePath } from '../../src/topology/app-source.js';

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
  it('seeds a kind cluster with Istio and the reference topology, consistent with the pods; the apps run from their pod spec', async () => {
    // The app ConfigMap as a user would change it (kubectl apply): the app the pods run is the API's, not the lab's copy.
    const marker = `started from the ConfigMap the API holds ${process.pid}`;
    const app = { ...appConfigMap(`process.stdout.write(${JSON.stringify(`${marker}\n`)});\n${readFileSync(appSourcePath(), 'utf8')}`), metadata: { name: APP_CONFIGMAP, namespace: 'mesh-verify' } };
    const lab = await startLab({ objects: [app] });
    try {
      expect(lab.simulated).toBe(true);
      const s = lab.kube;
      expect((await s.get('Namespace', null, 'mesh-verify'))?.metadata.labels?.['istio-injection']).toBe('enabled');
      expect((await s.get('Deployment', 'istio-system', 'istiod'))!.spec.template.spec.containers[0].image).toMatch(/^docker\.io\/istio\/pilot:\d+\.\d+\.\d+$/);
      expect((await s.list('Pod', 'istio-system')).map((p) => p.metadata.labels?.app).sort()).toEqual(['istio-ingressgateway', 'istiod']);
      const gwSvc = (await s.get('Service', 'istio-system', 'istio-ingressgateway'))!;
      expect(gwSvc.spec.type).toBe('NodePort');
      expect(gwSvc.spec.ports.find((p: any) => p.name === 'https')).toMatchObject({ port: 443, targetPort: 8443, nodePort: 30443 });
      for (const ns of ['istio-system', 'mesh-verify', 'default']) expect((await s.get('ConfigMap', ns, 'istio-ca-root-cert'))!.data['root-cert.pem']).toBe(lab.meshRootPem);
      expect((await s.get('PeerAuthentication', 'mesh-verify', 'default'))!.spec.mtls.mode).toBe('STRICT');
      expect((await s.get('DestinationRule', 'mesh-verify', 'bff'))!.spec.trafficPolicy.tls.mode).toBe('ISTIO_MUTUAL');
      expect(await s.get('Gateway', 'mesh-verify', 'mesh-verify-gateway')).toBeDefined();
      expect(await s.get('VirtualService', 'mesh-verify', 'bff')).toBeDefined();
      // The real controllers made the pods; the lab's processes run under their names.
      const pods = await s.list('Pod', 'mesh-verify');
      expect(pods.map((p) => p.metadata.name).sort()).toEqual(lab.pods().filter((p) => p.namespace === 'mesh-verify').map((p) => p.name).sort());
      for (const p of pods) {
        expect(p.metadata.ownerReferences[0].kind).toBe('ReplicaSet');
        // kwok's pod IPs, from the control plane's pod range; the injector's native sidecar, running.
        expect(p.status.podIP.startsWith(lab.controlPlane.podCidr.replace(/0\/24$/, ''))).toBe(true);
        expect(p.spec.initContainers.map((c: any) => `${c.name}:${c.restartPolicy ?? ''}`)).toEqual(['istio-init:', 'istio-proxy:Always']);
        expect(p.status.initContainerStatuses.find((c: any) => c.name === 'istio-proxy').state.running).toBeDefined();
        expect(p.metadata.labels['security.istio.io/tlsMode']).toBe('istio');
      }
      // Real EndpointSlices list the pods' IPs.
      const slices = await s.list('EndpointSlice', 'mesh-verify');
      const svcPod = pods.find((p) => p.metadata.labels.app === 'svc');
      expect(slices.filter((e) => e.metadata.labels['kubernetes.io/service-name'] === 'svc').flatMap((e) => e.endpoints.flatMap((x: any) => x.addresses))).toEqual([svcPod!.status.podIP]);
      // Each app container ran the ConfigMap's app.mjs through its volume, with POD_NAME from the downward API:
      // its log (kubectl logs, through the apiserver and kwok) starts with the marker and names the pod.
      for (const p of pods) {
        const app = p.metadata.labels.app as string;
        const log = execFileSync('kubectl', ['--kubeconfig', lab.kubeconfigPath, 'logs', '-n', 'mesh-verify', p.metadata.name, '-c', app], { encoding: 'utf8', timeout: 20_000 });
        expect(log.split('\n')[0]).toBe(marker);
        expect(log).toContain(`${app} listening on 8080`);
      }
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
      expect(await lab.kube.get('Deployment', 'mesh-verify', 'plaintext-caller')).toBeDefined();
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
    expect(text).toContain('behind a real Kubernetes control plane; the node and container runtime (kwok) and istiod are simulated');
    expect(text).toMatch(/NLB\s+127\.\d+\.\d+\.1:\d+/);
    expect(text).toContain(`kubectl --kubeconfig ${kubeconfigOut} get pods -A`);
    expect(text).toContain('curl --resolve web.mesh-verify.test:');
    const nlbAddr = /NLB\s+(127\.\d+\.\d+\.1:\d+)/.exec(text)![1];
    expect(text).toContain(`mesh-verify path --kubeconfig ${kubeconfigOut} --entry ${nlbAddr}`);
    expect(text).toContain(`mesh-verify audit --kubeconfig ${kubeconfigOut}`);
    const api = /API server\s+https:\/\/(127\.\d+\.\d+\.\d+):(\d+)/.exec(text)!;
    ac.abort();
    expect(await running).toBe(0);
    expect(await portClosed(Number(api[2]), api[1])).toBe(true);
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
