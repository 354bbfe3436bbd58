import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentProgress } from '../../src/core/progress.js';
import type { InterruptHook } from '../../src/cluster/cleanup.js';
import { loadBundle } from '../../src/bundle/load.js';
import { LAB_FAULTS } from '../../src/lab/types.js';
import { defaultPathDeps } from '../../src/path/default-deps.js';
import { parsePathOptions, type RawPathOptions } from '../../src/path/options.js';
import { runPath, type PathRunResult } from '../../src/path/run-path.js';
import { prepareLab } from '../../src/path/lab-target.js';
import { startLab, type StartedLab } from '../../src/lab/lab.js';
import { SCENARIOS, SCENARIO_NAMES } from '../../src/topology/scenarios.js';
import { spawnSync } from 'node:child_process';

/**
 * `mesh-verify path --lab` end to end, in this process: the lab's kubeconfig -> connectKube ->
 * apply -> wait -> probe through the lab NLB -> collect through the real apiserver's port-forward and kwok ->
 * analyze. Three requests per run keep the suite fast.
 */
const noSignals = (): InterruptHook => ({ dispose() {}, interrupted: false, done: Promise.resolve() });
async function labRun(raw: RawPathOptions): Promise<PathRunResult> {
  const deps = { ...defaultPathDeps(), interrupt: noSignals };
  return runPath(parsePathOptions({ lab: true, requests: '3', ...raw }), deps, silentProgress);
}
const status = (r: PathRunResult, segment: string) => r.report.segments.find((s) => s.id === segment)?.status;

/** Where each lab fault must be caught. */
const FAULT_SEGMENT: Record<string, string> = {
  'plaintext-gateway-bff': 'gateway->bff-sidecar',
  'permissive-svc': 'bff-sidecar->svc-sidecar',
  'no-sidecar-svc': 'bff-sidecar->svc-sidecar',
  'expired-cert': 'bff-sidecar->svc-sidecar',
  'foreign-root': 'bff-sidecar->svc-sidecar',
  'nlb-terminates-tls': 'client->nlb',
};

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'mv-e2e-lab-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('mesh-verify path --lab (in process)', () => {
  let healthy: PathRunResult;
  beforeAll(async () => { healthy = await labRun({ reportDir: join(dir, 'healthy') }); });

  it('proves every segment of the healthy lab (exit 0)', () => {
    expect(healthy.report.segments.map((s) => [s.id, s.status])).toEqual(healthy.bundle.path.segments.map((s) => [s.id, 'proven']));
    expect(healthy.exitCode).toBe(0);
  });

  it('collected real evidence from the three proxies through the lab Kubernetes API', () => {
    const b = healthy.bundle;
    expect(b.proxies.map((p) => [p.id, p.reachable, p.via])).toEqual([['gateway', true, 'port-forward'], ['bff', true, 'port-forward'], ['svc', true, 'port-forward']]);
    for (const p of b.proxies) {
      expect(p.errors).toEqual([]);
      expect(p.admin.configDump && p.admin.certs && p.admin.statsBefore && p.admin.statsAfter && p.admin.prometheusAfter).toBeTruthy();
      expect(p.accessLog.length).toBeGreaterThanOrEqual(3);
    }
    expect(b.client?.authorized).toBe(true);
    expect(b.requests.every((r) => r.status === 200 && r.response?.upstream?.body?.meshVerifyId === r.id)).toBe(true);
  });

  it('ties every hop to the run through x-mesh-verify-id although the gateway replaced x-request-id', () => {
    // The lab's gateway regenerates x-request-id as Envoy >= 1.33 does behind Istio's gateway
    // (use_remote_address true, no preserve_external_request_id; istio
    // pilot/pkg/networking/core/gateway.go at 1.30.3, envoy source/common/http/conn_manager_utility.cc).
    for (const r of healthy.bundle.requests) {
      const trail = r.requestIds!;
      expect(trail.sent).toBe(r.id);
      const gw = trail.seen.find((h) => h.at === 'gateway' && h.source === 'access_log')!;
      expect(gw.requestId).not.toBe(r.id);
      expect(trail.seen.map((h) => [h.at, h.source])).toEqual([
        ['gateway', 'access_log'], ['bff', 'access_log'], ['svc', 'access_log'], ['bff', 'app_echo'], ['svc', 'app_echo'],
      ]);
      expect(new Set(trail.seen.map((h) => h.requestId))).toEqual(new Set([gw.requestId]));
    }
    expect(healthy.report.overall).toBe('proven');
  });

  it('says plainly that the target was the lab: real Envoy and Kubernetes control plane, simulated node, runtime and istiod', async () => {
    expect(healthy.bundle.run.target).toMatchObject({ kind: 'lab', simulated: true });
    expect(healthy.report.target.description).toMatch(/lab on this machine: real Envoy \d+\.\d+\.\d+ and real TLS behind a real Kubernetes \d+\.\d+\.\d+ control plane \(etcd \d+\.\d+\.\d+\); the node and container runtime \(kwok \d+\.\d+\.\d+\) and istiod are simulated; not a cluster/);
    const md = await readFile(join(dir, 'healthy', 'report.md'), 'utf8');
    expect(md).toMatch(/simulat/i);
    expect(healthy.output).toMatch(/simulat/i);
  });

  it('writes bundle.json, report.json, junit.xml and report.md into --report-dir', async () => {
    const d = join(dir, 'healthy');
    expect(healthy.files.map((f) => f.slice(d.length + 1))).toEqual(['bundle.json', 'report.json', 'junit.xml', 'report.md']);
    const bundle = await loadBundle(join(d, 'bundle.json'));
    expect(bundle.run.id).toBe(healthy.report.runId);
    expect(JSON.parse(await readFile(join(d, 'report.json'), 'utf8')).overall).toBe('proven');
    expect(await readFile(join(d, 'junit.xml'), 'utf8')).toMatch(/^<\?xml[\s\S]*<testsuite/);
  });

  it.each(LAB_FAULTS.filter((f) => f !== 'stats-filtered'))('contradicts fault %s on its segment (exit 1)', async (fault) => {
    const r = await labRun({ fault });
    expect(r.bundle.run.fault).toBe(fault);
    expect(status(r, FAULT_SEGMENT[fault])).toBe('contradicted');
    expect(r.exitCode).toBe(1);
  });

  it('rests no verdict on Envoy ssl stats when Istio filters them (stats-filtered)', async () => {
    const r = await labRun({ fault: 'stats-filtered' });
    const statsItems = (x: PathRunResult) => x.report.segments.flatMap((s) => s.evidence.filter((e) => e.source === 'stats'));
    // The healthy run proves hops from the ssl counters; the filtered one finds them absent.
    expect(statsItems(healthy).some((e) => e.effect === 'supports')).toBe(true);
    expect(statsItems(r).length).toBeGreaterThan(0);
    expect(statsItems(r).every((e) => e.effect === 'neutral' && /not present/.test(e.observed))).toBe(true);
    // nlb->gateway has no other traffic-level source: it is no longer backed by traffic evidence.
    const edge = (x: PathRunResult) => x.report.segments.find((s) => s.id === 'nlb->gateway')!;
    expect(edge(healthy).levels).toContain('traffic');
    expect(edge(r).levels).not.toContain('traffic');
    expect(r.report.segments.filter((s) => s.status === 'contradicted')).toEqual([]);
  });

});

describe('--scenario on one lab, one after the other (as scripts/e2e-kind.sh runs them with --keep)', () => {
  let lab: StartedLab;
  beforeAll(async () => { lab = await startLab({}); });
  afterAll(async () => { await lab?.stop(); });
  // Every run reaches the same lab through prepareLab (its kubeconfig, API and NLB); none stops it.
  // Not `lab: true`: the CLI refuses --keep with --lab (its in-process lab stops with it); this lab
  // outlives the runs, as a cluster does.
  const onLab = (raw: RawPathOptions) => runPath(parsePathOptions({ requests: '3', ...raw }), {
    ...defaultPathDeps(), interrupt: noSignals,
    prepare: (_o, p) => prepareLab({ fault: null }, p, async () => ({ ...lab, stop: async () => {} })),
  }, silentProgress);

  it('contradicts each scenario on its segment, and proves the path again once the reference topology is re-applied', async () => {
    for (const scenario of SCENARIO_NAMES) {
      const r = await onLab({ scenario, keep: true });
      expect(r.bundle.run.scenario).toBe(scenario);
      expect([scenario, status(r, SCENARIOS[scenario].contradicts)]).toEqual([scenario, 'contradicted']);
      expect(r.exitCode).toBe(1);
    }
    // The healthy deploy repairs the DestinationRule and the svc Deployment (server-side apply)
    // and removes what permissive-svc left (PeerAuthentication, plaintext caller); --keep leaves
    // that (without it the end of the run would put the earlier state back).
    const again = await onLab({ keep: true });
    expect(again.report.segments.filter((s) => s.status !== 'proven').map((s) => s.id)).toEqual([]);
    expect((await lab.kube.list('PeerAuthentication')).map((o) => o.metadata.name)).toEqual(['default']);
  });
});

describe('node bin/mesh-verify.js path --lab (a real process)', () => {
  it('turns a detected contradiction into exit 0 with --expect contradicted; progress goes to stderr as timestamped lines', () => {
    const bin = new URL('../../bin/mesh-verify.js', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [bin, 'path', '--lab', '--fault', 'plaintext-gateway-bff', '--requests', '2', '--expect', 'contradicted', '-o', 'markdown'],
      { encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/simulat/i);
    expect(r.stdout).toContain('"mTLS: contradicted"');
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z ok  lab running: NLB 127\.\d+\.\d+\.1:\d+/m);
    expect(r.stderr).toMatch(/expected contradicted: met/);
    expect(r.stderr).toMatch(/lab stopped/);
  });
});
