import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { connectKube } from '../../src/cluster/kube-client.js';
import { runAudit } from '../../src/collect/audit/run-audit.js';
import type { AuditReport } from '../../src/analyze/audit/types.js';
import { AUDIT_USER, findingKeys, fleetLabMissing, startFleetApi, type FleetApi } from './fleet-api.js';
import { FLEET_AMBIENT_NAMESPACE, FLEET_GATEWAY_API_NAMESPACE, planFleet } from '../../src/lab/scale/plan.js';

const missing = fleetLabMissing();

/**
 * A 20-proxy fleet on the lab's real control plane (kube-apiserver, controllers, kwok), beside
 * the reference lab, audited end to end as the read-only role of fixtures/rbac/audit-readonly.yaml
 * (the apiserver's RBAC enforces it), every proxy through the apiserver's and kwok's port-forward.
 */
describe.skipIf(missing)('audit of a scale fleet on the real Kubernetes control plane', () => {
  let lab: FleetApi;
  let report: AuditReport;
  const progress: number[] = [];
  type Pod = { spec: { nodeName?: string; containers: { name: string }[]; initContainers?: { name: string; restartPolicy?: string }[] }; status: { podIP?: string } };
  const pods = new Map<string, Pod>();

  beforeAll(async () => {
    lab = await startFleetApi(20);
    const clients = await connectKube({ kubeconfig: lab.auditKubeconfig });
    report = await runAudit(clients, {
      namespaces: null, minCertDays: 30, targetVersion: null, concurrency: 6, timeoutMs: 8000, allowExec: false,
      onProgress: (p) => progress.push(p.done),
    });
    for (const p of await lab.lab.kube.list('Pod')) pods.set(`${p.metadata.namespace}/${p.metadata.name}`, p as unknown as Pod);
  }, 120_000);
  afterAll(async () => { await lab?.stop(); });

  it('finds every planted problem and reports nothing that was not planted', () => {
    expect(lab.planted.length).toBeGreaterThan(15);
    expect(findingKeys(report.findings)).toEqual(lab.planted.map((p) => `${p.code} | ${p.object}`).sort());
  });

  it('reads every reachable proxy (the fleet\'s and the reference\'s gateway, bff and svc), reports the unreachable and restarting ones, and exits 1', () => {
    const unreadable = lab.planted.filter((p) => p.code === 'proxy-unreadable').length;
    expect(unreadable).toBe(2);
    expect(report.proxies).toEqual({ total: 23, read: 21, unreadable: 2 });
    expect(report.exitCode).toBe(1);
    expect(progress.length).toBe(23);
    expect(Math.max(...progress)).toBe(23);
  });

  it('the fleet\'s pods are Pods of the API on kwok\'s node, with kwok\'s IPs from the pod range', () => {
    const plan = planFleet(20, 1);
    const [net, bits] = lab.lab.controlPlane.podCidr.split('/');
    const prefix = net!.split('.').slice(0, Math.floor(Number(bits) / 8)).join('.') + '.';
    const ips = new Set<string>();
    for (const p of [...plan.proxies, ...plan.barePods]) {
      const pod = pods.get(`${p.namespace}/${p.name}`)!;
      expect(pod.spec.nodeName).toBe(lab.lab.controlPlane.nodeName);
      expect(pod.status.podIP?.startsWith(prefix), `${p.name} ${pod.status.podIP}`).toBe(true);
      ips.add(pod.status.podIP!);
    }
    expect(ips.size).toBe(plan.proxies.length + plan.barePods.length);
  });

  it('as the read-only role: only get/list/watch and pods/portforward to port 15000, nothing refused, nothing that writes', () => {
    const used = lab.lab.controlPlane.auditEvents().filter((e) => e.user.username === AUDIT_USER && e.stage === 'ResponseComplete');
    expect(used.length).toBeGreaterThan(23);
    const bad = used.filter((e) => !(['get', 'list', 'watch'].includes(e.verb) || (e.objectRef?.subresource === 'portforward' && ['get', 'create'].includes(e.verb))));
    expect(bad.map((e) => `${e.verb} ${e.requestURI}`)).toEqual([]);
    expect(used.filter((e) => (e.responseStatus?.code ?? 0) >= 400).map((e) => `${e.verb} ${e.requestURI} ${e.responseStatus?.code}`)).toEqual([]);
    const forwards = used.filter((e) => e.objectRef?.subresource === 'portforward');
    expect(forwards.length).toBeGreaterThanOrEqual(23);
    expect(forwards.every((e) => e.requestURI.includes('ports=15000'))).toBe(true);
  });

  it('fixtures/rbac/audit-readonly.yaml grants no write and no Secret', () => {
    const docs = parseAllDocuments(readFileSync(new URL('../../fixtures/rbac/audit-readonly.yaml', import.meta.url), 'utf8')).map((d) => d.toJSON());
    const role = docs.find((d) => d.kind === 'ClusterRole') as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    expect(role.rules.some((r) => r.verbs.some((v) => ['patch', 'update', 'delete', 'deletecollection'].includes(v)))).toBe(false);
    expect(role.rules.some((r) => r.resources.includes('secrets'))).toBe(false);
  });

  it('native sidecars (istio-proxy an init container with restartPolicy Always) are audited as sidecars, not gateways', () => {
    // Istio 1.30.3 injection-template.yaml: with native sidecars istio-proxy moves to initContainers.
    const plan = planFleet(20, 1);
    const native = plan.proxies.filter((p) => p.nativeSidecar);
    expect(native.length).toBeGreaterThan(5);
    for (const p of native) {
      const pod = pods.get(`${p.namespace}/${p.name}`)!;
      expect(pod.spec.containers.map((c) => c.name)).toEqual([p.app]);
      expect(pod.spec.initContainers).toEqual([expect.objectContaining({ name: 'istio-proxy', restartPolicy: 'Always' })]);
    }
    // The other half keeps istio-proxy in containers (pods injected before the node upgrade).
    for (const p of plan.proxies.filter((x) => !x.nativeSidecar && !x.gateway)) {
      const pod = pods.get(`${p.namespace}/${p.name}`)!;
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
