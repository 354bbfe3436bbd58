import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-in-process.js';
import type { AuditReport } from '../../src/analyze/audit/types.js';
import { fleetLabMissing, startFleetApi, type FleetApi } from './fleet-api.js';

const missing = fleetLabMissing();

/** The CLI in this process (test/helpers/cli-in-process.ts), with this file's short names. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(...args);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The CLI against a 20-proxy fleet (seed 2) on the lab's real control plane. */
describe.skipIf(missing)('mesh-verify audit (CLI)', () => {
  let lab: FleetApi;
  beforeAll(async () => { lab = await startFleetApi(20, 2); }, 120_000);
  afterAll(async () => { await lab?.stop(); });

  it('-o json: the report on stdout, exit 1 for error findings, simulated target', async () => {
    const r = await run(['audit', '--kubeconfig', lab.kubeconfig, '-o', 'json', '-q', '--timeout-ms', '8000']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as AuditReport;
    expect(report.kind).toBe('mesh-verify/audit');
    expect(report.target.simulated).toBe(true);
    expect(report.proxies.unreadable).toBe(2);
    expect(report.counts.error).toBeGreaterThan(0);
  });

  it('-n limits pods to those namespaces; junit and markdown render', async () => {
    const j = await run(['audit', '--kubeconfig', lab.kubeconfig, '-n', 'legacy', '-o', 'junit', '-q', '--min-cert-days', '0']);
    // legacy has no proxies: the control plane and its plaintext (info) service, and nothing was
    // verified: exit 3, with a finding that says so.
    expect(j.code).toBe(3);
    expect(j.out).toContain('<testsuites name="mesh-verify audit"');
    expect(j.out).toContain('plaintext-endpoint-outside-mesh');
    expect(j.out).toContain('no-proxy-read');
    const m = await run(['audit', '--kubeconfig', lab.kubeconfig, '-o', 'markdown', '-q', '--concurrency', '4']);
    expect(m.code).toBe(1);
    expect(m.out).toMatch(/^# mesh-verify audit \(SIMULATED lab\)/);
    expect(m.out).toContain('| `drift-accepts-plaintext` |');
  });

  it('plain progress lines with counts on stderr when not quiet', async () => {
    const r = await run(['audit', '--kubeconfig', lab.kubeconfig, '-n', 'team-00', '-o', 'table']);
    expect(r.err).toMatch(/proxies \d+\/\d+ read, \d+ unreadable, \d+ findings/);
    expect(r.out).toMatch(/^Audit of mesh-verify-lab \(SIMULATED lab\)/);
    expect(r.out).toContain('SEVERITY  CODE');
  });

  it('-n a,b is a comma list (as kubectl takes lists); the namespaces audited are in the JSON', async () => {
    const r = await run(['audit', '--kubeconfig', lab.kubeconfig, '-n', 'team-00,legacy', '-n', 'team-00', '-o', 'json', '-q']);
    const report = JSON.parse(r.out) as AuditReport;
    expect(report.target.namespaces).toEqual(['team-00', 'legacy']);
    expect(report.target.namespacesAudited).toEqual(['team-00', 'legacy']);
    expect(report.proxies.total).toBeGreaterThan(0);
    const all = JSON.parse((await run(['audit', '--kubeconfig', lab.kubeconfig, '-A', '-o', 'json', '-q'])).out) as AuditReport;
    expect(all.target.namespaces).toBe('all');
    expect(all.target.namespacesAudited).toEqual(expect.arrayContaining(['istio-system', 'legacy', 'team-00']));
  });

  it('a namespace that does not exist is exit 2 with one line; so is a malformed name', async () => {
    const r = await run(['audit', '--kubeconfig', lab.kubeconfig, '-n', 'team-00,does-not-exist', '-o', 'json', '-q']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toEqual([expect.stringContaining('namespace does-not-exist not found in context mesh-verify-lab')]);
    const bad = await run(['audit', '--kubeconfig', lab.kubeconfig, '-n', 'Team_00', '-q']);
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    expect(bad.err).toContain('-n Team_00: not a namespace name');
    expect((await run(['audit', '--kubeconfig', lab.kubeconfig, '-n', 'a,,b', '-q'])).code).toBe(2);
  });

  it('usage errors exit 2, a missing kubeconfig exits 4', async () => {
    expect((await run(['audit', '--min-cert-days', 'soon'])).code).toBe(2);
    expect((await run(['audit', '-n', 'a', '-A'])).code).toBe(2);
    expect((await run(['audit', '--target-version', 'latest'])).code).toBe(2);
    const missing = await run(['audit', '--kubeconfig', '/nonexistent/kubeconfig', '-q']);
    expect(missing.code).toBe(4);
    expect(missing.err).toContain('kubeconfig');
  });
});
