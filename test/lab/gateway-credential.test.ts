import { describe, expect, it } from 'vitest';
import tls from 'node:tls';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { startLab } from '../../src/lab/lab.js';
import { createGatewayCredential, gatewayCaConfigMap } from '../../src/topology/credentials.js';
import { certSha256Hex } from '../../src/pki/ca.js';
import { PUBLIC_HOST } from '../../src/topology/reference.js';

/** The leaf the gateway presents through the NLB, and whether it verifies against `ca`. */
function handshake(host: string, port: number, ca: string): Promise<{ leafSha256: string; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, servername: PUBLIC_HOST, ca, rejectUnauthorized: false }, () => {
      const leaf = s.getPeerCertificate();
      const pem = `-----BEGIN CERTIFICATE-----\n${leaf.raw.toString('base64')}\n-----END CERTIFICATE-----\n`;
      const out = { leafSha256: certSha256Hex(pem), authorized: s.authorized };
      s.end();
      resolve(out);
    });
    s.on('error', reject);
  });
}

describe('lab gateway credential (a real Envoy SDS update from the Secret behind credentialName)', () => {
  it('serves the Secret stored in the API, and a newly applied Secret from the next handshake on, also from a re-created gateway pod', async () => {
    const lab = await startLab({});
    try {
      const first = await handshake(lab.nlb.host, lab.nlb.port, lab.externalCaPem);
      expect(first.authorized).toBe(true);

      const next = await createGatewayCredential();
      expect(next.caPem).not.toBe(lab.externalCaPem);
      const kc = new KubeConfig();
      kc.loadFromFile(lab.kubeconfigPath);
      const objects = KubernetesObjectApi.makeApiClient(kc);
      for (const o of [next.secret, gatewayCaConfigMap(next.caPem)] as KubernetesObject[]) {
        await objects.patch(o, undefined, undefined, 'test', true, PatchStrategy.ServerSideApply);
      }
      await lab.settled();

      const second = await handshake(lab.nlb.host, lab.nlb.port, next.caPem);
      expect(second.authorized).toBe(true);
      expect(second.leafSha256).toBe(certSha256Hex(next.serverCertPem));
      expect(second.leafSha256).not.toBe(first.leafSha256);
      expect(lab.externalCaPem).toBe(next.caPem);

      // The gateway rolled out again (kubectl rollout restart: the new pod comes up beside the old
      // one, so kwok gives it another IP): its containers move into the new pod's namespace and
      // the NLB targets the new IP.
      const core = kc.makeApiClient(CoreV1Api);
      const old = (await core.listNamespacedPod({ namespace: 'istio-system', labelSelector: 'app=istio-ingressgateway' })).items[0]!;
      await objects.patch({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'istio-ingressgateway', namespace: 'istio-system' }, spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } } as KubernetesObject,
        undefined, undefined, 'kubectl-rollout', true, PatchStrategy.ServerSideApply);
      let fresh: string | undefined;
      for (let i = 0; i < 100 && !fresh; i += 1) {
        const pods = (await core.listNamespacedPod({ namespace: 'istio-system', labelSelector: 'app=istio-ingressgateway' })).items;
        fresh = pods.find((p) => p.metadata!.name !== old.metadata!.name && p.status?.phase === 'Running' && p.status.podIP && !p.metadata!.deletionTimestamp)?.status!.podIP;
        if (!fresh) await new Promise((r) => setTimeout(r, 200));
      }
      expect(fresh).toBeDefined();
      expect(fresh).not.toBe(old.status!.podIP);
      await lab.settled();
      expect(lab.addresses!.gateway).toBe(fresh);
      expect((await handshake(lab.nlb.host, lab.nlb.port, next.caPem)).authorized).toBe(true);
    } finally {
      await lab.stop();
    }
  });
});
