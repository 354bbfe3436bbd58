import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { connectKube } from '../../src/cluster/kube-client.js';
import { runAudit } from '../../src/collect/audit/run-audit.js';
import type { AuditReport } from '../../src/analyze/audit/types.js';
import { findingKeys, startFleetApi, type FleetApi } from './fleet-api.js';
import { FLEET_AMBIENT_NAMESPACE, FLEET_GATEWAY_API_NAMESPACE, planFleet } from '../../src/lab/scale/plan.js';

/** A 20-proxy fleet audited end to end through the API double's port-forward. */
describe('audit of a scale fleet through the Kubernetes API double', () => {
  let lab: FleetApi;
  let report: AuditReport;
  let requestsBefore = 0;
  const progress: number[] = [];

  beforeAll(async () => {
    lab = await startFleetApi(20);
    const clients = await connectKube({ kubeconfig: lab.kubeconfig });
    requestsBefore = lab.api.requests.length;
    report = await runAudit(clients, {
      namespaces: null, minCertDays: 30, targetVersion: null, concurrency: 6, timeoutMs: 8000, allowExec: false,
      onProgress: (p) => progress.push(p.done),
    });
  }, 60_000);
  afterAll(async () => { await lab?.stop(); });

  it('finds every planted problem and reports nothing that was not planted', () => {
    expect(lab.fleet.planted.length).toBeGreaterThan(15);
    expect(findingKeys(report.findings)).toEqual(lab.fleet.planted.map((p) => `${p.code} | ${p.object}`).sort());
  });

  it('reads every reachable proxy, reports the unreachable and restarting ones, and exits 1', () => {
    const unreadable = lab.fleet.planted.filter((p) => p.code === 'proxy-unreadable').length;
    expect(unreadable).toBe(2);
    expect(report.proxies).toEqual({ total: 20, read: 18, unreadable: 2 });
    expect(report.exitCode).toBe(1);
    expect(progress.length).toBe(20);
    expect(Math.max(...progress)).toBe(20);
  });

  it('issues only get/list and pods/portforward: nothing that writes', () => {
    const used = lab.api.requests.slice(requestsBefore);
    expect(used.length).toBeGreaterThan(20);
    const bad = used.filter((r) => !(r.method === 'GET' && (['get', 'list', 'watch'].includes(r.verb) || r.subresource === 'portforward')));
    expect(bad).toEqual([]);
    // Every port-forward goes to the admin port only.
    expect(used.filter((r) => r.subresource === 'portforward').every((r) => r.query.includes('ports=15000'))).toBe(true);
  });

  it('every request is allowed by fixtures/rbac/audit-readonly.yaml', () => {
    const docs = parseAllDocuments(readFileSync(new URL('../../fixtures/rbac/audit-readonly.yaml', import.meta.url), 'utf8')).map((d) => d.toJSON());
    const role = docs.find((d) => d.kind === 'ClusterRole') as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    const allowed = (group: string, resource: string, verb: string) => role.rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    for (const r of lab.api.requests.slice(requestsBefore)) {
      if (!r.resource) continue;
      const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
      expect(allowed(r.group, resource, r.verb), `${r.verb} ${r.group}/${resource}`).toBe(true);
    }
    expect(role.rules.some((r) => r.verbs.some((v) => ['patch', 'update', 'delete', 'deletecollection'].includes(v)))).toBe(false);
    expect(role.rules.some((r) => r.resources.includes('secrets'))).toBe(false);
  });

  it('native sidecars (istio-proxy an init container with restartPolicy Always) are audited as sidecars, not gateways', () => {
    // Istio 1.30.3 injection-template.yaml: with native sidecars istio-proxy moves to initContainers.
    const plan = planFleet(20, 1);
    const native = plan.proxies.filter((p) => p.nativeSidecar);
    expect(native.length).toBeGreaterThan(5);
    for (const p of native) {
      const pod = lab.api.store.get('Pod', p.namespace, p.name) as unknown as { spec: { containers: { name: string }[]; initContainers?: { name: string; restartPolicy?: string }[] } };
      expect(pod.spec.containers.map((c) => c.name)).toEqual([p.app]);
      expect(pod.spec.initContainers).toEqual([expect.objectContaining({ name: 'istio-proxy', restartPolicy: 'Always' })]);
    }
    // The other half keeps istio-proxy in containers (pods injected before the node upgrade).
    for (const p of plan.proxies.filter((x) => !x.nativeSidecar && !x.gateway)) {
      const pod = lab.api.store.get('Pod', p.namespace, p.name) as unknown as { spec: { containers: { name: string }[]; initContainers?: unknown[] } };
      expect(pod.spec.containers.map((c) => c.name)).toEqual([p.app, 'istio-proxy']);
      expect(pod.spec.initContainers).toBeUndefined();
    }
    // Their inbound findings (PERMISSIVE namespaces, drift) are planted and found.
    const nativePods = new Set(native.map((p) => `pod ${p.namespace}/${p.name}`));
    const inbound = report.findings.filter((f) => /^(inbound-|drift-)/.test(f.code) && nativePods.has(f.object.replace(/ port \S+$/, '')));
    expect(inbound.length).toBeGreaterThan(0);
  });

  it('Gateway API credentials (kubernetes-gateway://NS/NAME) get the expiry, host and warming checks', () => {
    const gw = report.findings.filter((f) => f.object.startsWith('secret kubernetes-gateway://'));
    expect(gw.map((f) => f.code).sort()).toEqual(['gateway-cert-expiring', 'gateway-cert-host-mismatch', 'sds-secret-warming']);
    expect(gw.every((f) => f.object.endsWith(`on pod ${FLEET_GATEWAY_API_NAMESPACE}/${planFleet(20, 1).proxies.find((p) => p.gatewayApi)!.name}`))).toBe(true);
  });

  it('ambient pods are in the mesh: no pod-without-sidecar or plaintext-endpoint for them, one info finding', () => {
    const plan = planFleet(20, 1);
    const ambient = plan.barePods.filter((b) => b.ambient);
    expect(ambient.length).toBe(3);
    for (const b of ambient) {
      expect(report.findings.filter((f) => f.object.includes(b.name) || f.object === `Service ${b.namespace}/${b.app}`)).toEqual([]);
    }
    const info = report.findings.filter((f) => f.code === 'ambient-not-verified');
    expect(info).toHaveLength(1);
    expect(info[0].severity).toBe('info');
    expect(info[0].message).toContain(`3 pod(s) run in ambient mode`);
    // The pod that opts out (istio.io/dataplane-mode=none) in the ambient namespace is outside the mesh.
    expect(report.findings.find((f) => f.code === 'plaintext-endpoint-outside-mesh' && f.object === `namespace ${FLEET_AMBIENT_NAMESPACE}`)?.message).toContain('nightly-report');
  });

  it('records the namespaces audited', () => {
    expect(report.target.namespaces).toBe('all');
    expect(report.target.namespacesAudited).toEqual(expect.arrayContaining([FLEET_AMBIENT_NAMESPACE, FLEET_GATEWAY_API_NAMESPACE, 'istio-system', 'team-00']));
  });

  it('findings carry evidence and a fix', () => {
    for (const f of report.findings.filter((x) => x.severity !== 'info')) {
      expect(f.fix, f.code).toBeTruthy();
      expect(f.evidence.length, f.code).toBeGreaterThan(0);
    }
  });
});
