import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { connectKube } from '../../src/cluster/kube-client.js';
import { runAudit } from '../../src/collect/audit/run-audit.js';
import type { AuditReport } from '../../src/analyze/audit/types.js';
import { findingKeys, startFleetApi, type FleetApi } from './fleet-api.js';

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

  it('findings carry evidence and a fix', () => {
    for (const f of report.findings.filter((x) => x.severity !== 'info')) {
      expect(f.fix, f.code).toBeTruthy();
      expect(f.evidence.length, f.code).toBeGreaterThan(0);
    }
  });
});
