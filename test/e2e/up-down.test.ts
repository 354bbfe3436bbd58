import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type StartedLab } from '../../src/lab/lab.js';
import { runCli } from '../helpers/cli-in-process.js';

/**
 * `up` and `down` with --kubeconfig, against the lab's Kubernetes API as "any cluster": preflight,
 * Istio detection, server-side apply and waits, then deletion of every managed object.
 * (The kind branch needs Docker and kind: not exercised here.)
 */
let lab: StartedLab;
beforeAll(async () => { lab = await startLab({}); });
afterAll(async () => { await lab?.stop(); });

describe('mesh-verify up / down --kubeconfig (in process, against the lab API)', () => {
  it('up reuses the Istio it finds, deploys the topology and says how to verify it', async () => {
    const up = await runCli('up', '--kubeconfig', lab.kubeconfigPath, '-q');
    expect(up.status).toBe(0);
    expect(up.stdout).toMatch(/^istio: +1\.\d+\.\d+/m);
    expect(up.stdout).toMatch(/^applied: +\d+ objects/m);
    expect(up.stdout).toContain(`next:    mesh-verify path --no-deploy --kubeconfig ${lab.kubeconfigPath}`);
    const cm = (await lab.kube.list('ConfigMap')).find((o) => o.metadata.name === 'mesh-verify-gateway-ca');
    expect((cm as { data?: Record<string, string> } | undefined)?.data?.['ca.crt']).toMatch(/BEGIN CERTIFICATE/);
  });

  it('down deletes every object mesh-verify labelled and leaves Istio', async () => {
    const down = await runCli('down', '--kubeconfig', lab.kubeconfigPath, '-q');
    expect(down.status).toBe(0);
    expect(down.stdout).toMatch(/^deleted \d+ objects managed by mesh-verify on context \S+ \(Istio left installed\)/);
    const managed = (await Promise.all(['Deployment', 'PeerAuthentication', 'DestinationRule', 'ConfigMap'].map((k) => lab.kube.list(k))))
      .flat().filter((o) => o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'mesh-verify');
    expect(managed).toEqual([]);
  });
});
