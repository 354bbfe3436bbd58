import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-in-process.js';
import { startFleetLab, startLab, type FleetLab, type StartedLab } from '../../src/lab/lab.js';
import type { AuditReport } from '../../src/analyze/audit/types.js';
import { findingKeys } from './fleet-api.js';
import { pinnedVersions } from '../../src/topology/versions.js';

/** The CLI in this process (test/helpers/cli-in-process.ts), with this file's short names. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(...args);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * `lab up --proxies N` then `audit -A`: the reference install and the fleet share one API, so
 * the audit must see exactly the fleet's planted problems (the reference pods are healthy).
 */
describe('mesh-verify audit against startFleetLab({ proxies: 20 })', () => {
  let lab: FleetLab;
  beforeAll(async () => { lab = await startFleetLab({ proxies: 20 }); }, 60_000);
  afterAll(async () => { await lab?.stop(); });

  it('finds exactly the planted problems, reading the reference pods too', async () => {
    const r = await run(['audit', '--kubeconfig', lab.kubeconfigPath, '-A', '-o', 'json', '-q', '--timeout-ms', '8000']);
    const report = JSON.parse(r.out) as AuditReport;
    const planted = lab.fleet!.planted.map((p) => `${p.code} | ${p.object}`).sort();
    expect(planted.length).toBeGreaterThan(15);
    expect(findingKeys(report.findings)).toEqual(planted);
    // 20 fleet proxies plus the reference gateway, bff and svc sidecars; 2 planted unreadable.
    expect(report.proxies.total).toBe(23);
    expect(report.proxies.unreadable).toBe(2);
    expect(r.code).toBe(1);
  }, 60_000);

  it('one istiod per revision and one root bundle in the API (no duplicate writers)', () => {
    const istiods = lab.api.store.list('Deployment', 'istio-system').filter((d) => d.metadata.labels?.app === 'istiod');
    const defaults = istiods.filter((d) => (d.metadata.labels?.['istio.io/rev'] ?? 'default') === 'default');
    expect(defaults).toHaveLength(1);
    // The fleet's control plane: the release every lab proxy (reference and fleet) reports.
    expect(JSON.stringify(defaults[0].spec)).toContain(`pilot:${pinnedVersions().istio}`);
    const root = lab.api.store.get('ConfigMap', 'istio-system', 'istio-ca-root-cert') as unknown as { data: Record<string, string> };
    expect(root.data['root-cert.pem'].match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(root.data['root-cert.pem']).toContain(lab.meshRootPem.trim());
  });
});

/**
 * The healthy lab (no fault, no fleet) audits clean: its proxies report the Istio release its
 * istiod runs (the pin in fixtures/istio/versions.json). Before, they reported 1.22.3 under a
 * newer control plane, and every proxy was outside the supported skew.
 */
describe('mesh-verify audit against the healthy lab', () => {
  let lab: StartedLab;
  beforeAll(async () => { lab = await startLab({}); }, 60_000);
  afterAll(async () => { await lab?.stop(); });

  it('reads every proxy, finds no error or warning, exits 0; proxies and istiod report the pinned Istio', async () => {
    const r = await run(['audit', '--kubeconfig', lab.kubeconfigPath, '-A', '-o', 'json', '-q', '--timeout-ms', '8000']);
    const report = JSON.parse(r.out) as AuditReport;
    expect(report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.code} | ${f.object}`)).toEqual([]);
    expect(report.controlPlane.revisions).toEqual([expect.objectContaining({ revision: 'default', version: pinnedVersions().istio })]);
    expect(report.proxies.read).toBe(report.proxies.total);
    expect(report.proxies.total).toBeGreaterThanOrEqual(3);
    expect(r.code).toBe(0);
  }, 60_000);

  it('on the real control plane: an opted-out pod in an injected namespace is found, an ambient namespace is not plaintext, the native sidecars are read as sidecars', async () => {
    const deployment = (ns: string, name: string, annotations: Record<string, string> = {}) => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
      spec: {
        replicas: 1, selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name }, annotations }, spec: { containers: [{ name, image: 'node:20', ports: [{ containerPort: 8080 }] }] } },
      },
    });
    const service = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080 }] } });
    for (const o of [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'istio.io/dataplane-mode': 'ambient' } } },
      deployment('shop', 'cart'), service('shop', 'cart'),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'legacy', labels: { 'istio-injection': 'enabled' } } },
      deployment('legacy', 'billing', { 'sidecar.istio.io/inject': 'false' }), service('legacy', 'billing'),
    ]) await lab.kube.apply(o);
    // The real controllers create the pods (after the controller-manager gives each namespace its
    // default ServiceAccount); the injector leaves both alone (ambient: no istio-injection label; billing opted out).
    for (let i = 0; i < 150; i += 1) {
      const pods = [...await lab.kube.list('Pod', 'shop'), ...await lab.kube.list('Pod', 'legacy')];
      if (pods.length === 2 && pods.every((p) => p.status?.phase === 'Running')) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    const billing = (await lab.kube.list('Pod', 'legacy'))[0]!;
    expect(billing.spec.initContainers).toBeUndefined();
    const r = await run(['audit', '--kubeconfig', lab.kubeconfigPath, '-A', '-o', 'json', '-q', '--timeout-ms', '8000']);
    const report = JSON.parse(r.out) as AuditReport;
    const keys = report.findings.map((f) => `${f.code} | ${f.object}`);
    expect(keys).toContain(`pod-without-sidecar | pod legacy/${billing.metadata.name}`);
    expect(keys.filter((k) => k.includes('shop/') || k.includes('Service shop'))).toEqual([]);
    expect(report.findings.filter((f) => f.code === 'ambient-not-verified')).toHaveLength(1);
    // bff and svc carry istio-proxy as a native sidecar (init container, restartPolicy Always): read, and no pod-without-sidecar for them.
    expect(report.proxies.read).toBe(report.proxies.total);
    expect(keys.filter((k) => k.startsWith('pod-without-sidecar') && k.includes('mesh-verify/'))).toEqual([]);
    expect(r.code).toBe(1);
  }, 90_000);
});
