import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inspectConfigDump } from '../../../src/envoy/index.js';
import { meshStateForFault, startDataPlane } from '../../../src/lab/dataplane/index.js';
import { createGatewayCredential } from '../../../src/topology/credentials.js';
import { admin, GATEWAY_APP, pod, probe } from './client.js';

describe('gateway credential', () => {
  it('serves the credential it is given (the Secret the lab stores) and trusts its CA as external CA', async () => {
    const credential = await createGatewayCredential();
    const plane = await startDataPlane({ state: meshStateForFault(null), gatewayCredential: credential });
    try {
      expect(plane.externalCaPem).toBe(credential.caPem);
      const a = await probe(plane, 'cred-1');
      expect(a.status).toBe(200);
      expect(new X509Certificate(a.peerCertificate.raw).fingerprint256).toBe(new X509Certificate(credential.serverCertPem).fingerprint256);
      const gw = inspectConfigDump(JSON.parse(await admin(pod(plane, GATEWAY_APP), '/config_dump')));
      const secret = gw.secrets.find((s) => s.name === 'kubernetes://mesh-verify-credential')!;
      expect(secret.chain[0]!.fingerprint256).toBe(new X509Certificate(credential.serverCertPem).fingerprint256.replace(/:/g, '').toLowerCase());
    } finally {
      await plane.stop();
    }
  });
});
