import { describe, expect, it } from 'vitest';
import tls from 'node:tls';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
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
  it('serves the Secret stored in the API, and a newly applied Secret from the next handshake on', async () => {
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
    } finally {
      await lab.stop();
    }
  });
});
