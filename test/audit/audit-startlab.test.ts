import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-in-process.js';
import { startLab, type StartedLab } from '../../src/lab/lab.js';
import type { AuditReport } from '../../src/analyze/audit/types.js';
import { FLEET_AMBIENT_NAMESPACE, FLEET_CANARY_REVISION, FLEET_CANARY_VERSION, planFleet } from '../../src/lab/scale/plan.js';
import { findingKeys } from './fleet-api.js';
import { pinnedVersions } from '../../src/topology/versions.js';

/** The CLI in this process (test/helpers/cli-in-process.ts), with this file's short names. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(...args);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * `lab up --proxies N` then `audit -A`: the reference install and the fleet share one real
 * control plane, so the audit must see exactly the fleet's planted problems (the reference pods
 * are healthy), native sidecars and an ambient namespace included.
 */
describe('mesh-verify audit against startLab({ proxies: 60 }) on the real control plane', () => {
  const COUNT = 60;
  let lab: StartedLab;
  let report: AuditReport;
  let code = -1;
  beforeAll(async () => {
    lab = await startLab({ proxies: COUNT });
    const r = await run(['audit', '--kubeconfig', lab.kubeconfigPath, '-A', '-o', 'json', '-q', '--timeout-ms', '8000']);
    report = JSON.parse(r.out) as AuditReport;
    code = r.code;
  }, 180_000);
  afterAll(async () => { await lab?.stop(); });

  it('finds every planted problem and nothing else, reading the reference pods too', () => {
    const planted = lab.fleet!.planted.map((p) => `${p.code} | ${p.object}`).sort();
    // Every problem variant of the plan is there (a fleet of 60 plants each at least once).
    expect(new Set(lab.fleet!.planted.map((p) => p.code)).size).toBeGreaterThanOrEqual(15);
    expect(findingKeys(report.findings)).toEqual(planted);
    // The fleet's proxies plus the reference gateway, bff and svc sidecars; the planted unreachable and restarting ones unread.
    const unreadable = lab.fleet!.planted.filter((p) => p.code === 'proxy-unreadable').length;
    expect(unreadable).toBeGreaterThanOrEqual(2);
    expect(report.proxies).toEqual({ total: COUNT + 3, read: COUNT + 3 - unreadable, unreadable });
    expect(code).toBe(1);
  });

  it('native sidecars are read as sidecars, and the ambient namespace is in the mesh (one info finding, no plaintext)', async () => {
    const plan = planFleet(COUNT, 1);
    const native = plan.proxies.filter((p) => p.nativeSidecar && p.variant !== 'unreachable' && p.variant !== 'restarting');
    expect(native.length).toBeGreaterThan(10);
    for (const p of native.slice(0, 5)) {
      const pod = (await lab.kube.get('Pod', p.namespace, p.name))!;
      expect(pod.spec.initContainers).toEqual([expect.objectContaining({ name: 'istio-proxy', restartPolicy: 'Always' })]);
    }
    const nativePods = new Set(native.map((p) => `pod ${p.namespace}/${p.name}`));
    expect(report.findings.filter((f) => f.code === 'pod-without-sidecar' && nativePods.has(f.object))).toEqual([]);
    expect(report.findings.filter((f) => f.code === 'ambient-not-verified')).toHaveLength(1);
    expect(report.findings.filter((f) => f.severity !== 'info' && (f.object.includes(`${FLEET_AMBIENT_NAMESPACE}/`) || f.object === `namespace ${FLEET_AMBIENT_NAMESPACE}`))).toEqual([]);
  });

  it('one istiod per revision (run by the real controllers and kwok) and one root bundle in the API', async () => {
    const istiods = (await lab.kube.list('Deployment', 'istio-system')).filter((d) => d.metadata.labels?.app === 'istiod');
    const defaults = istiods.filter((d) => (d.metadata.labels?.['istio.io/rev'] ?? 'default') === 'default');
    expect(defaults).toHaveLength(1);
    // The fleet's control plane: the release every lab proxy (reference and fleet) reports.
    expect(JSON.stringify(defaults[0]!.spec)).toContain(`pilot:${pinnedVersions().istio}`);
    expect(istiods.every((d) => d.status?.readyReplicas === 1)).toBe(true);
    expect(report.controlPlane.revisions).toEqual(expect.arrayContaining([
      expect.objectContaining({ revision: 'default', version: pinnedVersions().istio }),
      expect.objectContaining({ revision: FLEET_CANARY_REVISION, version: FLEET_CANARY_VERSION }),
    ]));
    const root = (await lab.kube.get('ConfigMap', 'istio-system', 'istio-ca-root-cert'))! as { data: Record<string, string> };
    expect(root.data['root-cert.pem']!.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
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
