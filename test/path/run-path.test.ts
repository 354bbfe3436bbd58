import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentProgress } from '../../src/core/progress.js';
import type { InterruptHook } from '../../src/cluster/cleanup.js';
import { saveBundle } from '../../src/bundle/save.js';
import { validateBundle } from '../../src/bundle/validate.js';
import { writeFileAtomic } from '../../src/io/atomic-write.js';
import { parsePathOptions, type RawPathOptions } from '../../src/path/options.js';
import { runPath, type PathRunDeps } from '../../src/path/run-path.js';
import { createRootCa, issueCertificate, type Authority } from '../../src/pki/ca.js';
import { realEnvoyPath, requireEnvoyInCi } from '../helpers/real-envoy.js';
import { startIstioSidecar, type IstioSidecar } from '../helpers/istio-sidecar.js';
import { appEcho as echo, startServer } from '../probe/tls-echo-server.js';
import { fakeAnalyze, fakeTarget } from './fake-target.js';
import { leafSha256 } from '../../src/topology/credentials.js';

const HOST = 'web.path.test';
/** Every proxy's admin answers come from one real Envoy (the lab's Istio-shaped bff sidecar). */
const envoy = realEnvoyPath();
requireEnvoyInCi(envoy);

let ca: Authority;
let other: Authority;
let entry: Awaited<ReturnType<typeof startServer>>;
let admin: IstioSidecar;
let dir: string;
beforeAll(async () => {
  if (!envoy.path) return;
  ca = await createRootCa('path test CA');
  other = await createRootCa('not the gateway CA');
  entry = await startServer(await issueCertificate(ca, { dnsSans: [HOST] }), echo);
  admin = await startIstioSidecar(envoy.path);
  dir = await mkdtemp(join(tmpdir(), 'mv-path-'));
}, 60_000);
afterAll(async () => { await entry?.close(); await admin?.stop(); if (dir) await rm(dir, { recursive: true, force: true }); });

const noSignals = (): InterruptHook => ({ dispose() {}, interrupted: false, done: Promise.resolve() });

function setup(raw: RawPathOptions, t: Partial<Parameters<typeof fakeTarget>[0]> = {}) {
  const { target, log } = fakeTarget({ port: entry.port, caPem: ca.certPem, host: HOST, admin, seenIds: () => entry.seen.ids, ...t });
  const written: string[] = [];
  const deps: PathRunDeps = {
    prepare: async () => target,
    analyze: (b) => fakeAnalyze(b),
    saveBundle: async (file, b) => (await saveBundle(file, b)).bundle,
    writeReports: async (d, report) => {
      const f = join(d, 'report.json');
      await writeFileAtomic(f, JSON.stringify(report));
      written.push(f);
      return [f];
    },
    render: (report, format) => `${format}:${report.overall}`,
    interrupt: noSignals,
    timeouts: { entry: 2000, admin: 2000, logWait: 0 },
  };
  return { opts: parsePathOptions(raw), deps, log, written };
}

describe.skipIf(!envoy.path)(`runPath (orchestration over injected targets, admin reads from a real Envoy) ${envoy.reason}`, () => {
  it("a gateway that never serves the credential this run stored: said in progress and in the bundle's notes, then probed", async () => {
    const stored = await issueCertificate(ca, { dnsSans: [HOST] });
    const { opts, deps } = setup({ requests: '1' }, { serverCertPem: stored.certPem });
    deps.timeouts = { ...deps.timeouts, entry: 300 };
    const lines: string[] = [];
    const { plainProgress } = await import('../../src/core/progress.js');
    const r = await runPath(opts, deps, plainProgress((l) => lines.push(l)));
    const note = r.bundle.run.notes.find((n) => n.startsWith("the gateway never served this run's certificate"));
    expect(note).toContain(`(sha256 ${leafSha256(stored.certPem)}) within 0 s: it served sha256 ${leafSha256(entry.cert.certPem)}`);
    expect(lines.some((l) => /ERR the gateway never served this run's certificate .*; probing anyway$/.test(l))).toBe(true);
    expect(r.bundle.requests).toHaveLength(1);
  });


  it('deploys, probes with run ids, collects from every proxy and builds a valid bundle', async () => {
    const { opts, deps, log } = setup({ requests: '3' });
    const r = await runPath(opts, deps, silentProgress);
    expect(log.deploys).toEqual([{ runId: r.bundle.run.id, scenario: null }]);
    expect(r.bundle.requests.map((q) => q.id)).toEqual([1, 2, 3].map((n) => `mv-${r.bundle.run.id}-${n}`));
    expect(r.bundle.client?.authorized).toBe(true);
    expect(r.bundle.path.host).toBe(HOST);
    expect(r.bundle.path.entry).toEqual({ address: '127.0.0.1', port: entry.port, kind: 'custom' });
    expect(r.bundle.path.gatewayCaPem).toBe(ca.certPem);
    expect(r.bundle.proxies.map((p) => [p.id, p.reachable, p.accessLog.length])).toEqual([['gateway', true, 3], ['bff', true, 3], ['svc', true, 3]]);
    expect(r.bundle.proxies.every((p) => p.admin.statsBefore && p.admin.statsAfter && p.admin.configDump)).toBe(true);
    // Envoy's own answers, kept as it gave them (its version; its redaction of the SDS key).
    expect(JSON.parse(r.bundle.proxies[0].admin.serverInfo?.body ?? '{}').version).toMatch(/\/1\.38\.3\//);
    expect(r.bundle.proxies[0].admin.configDump?.body).toContain('"private_key":{"inline_bytes":"W3JlZGFjdGVkXQ=="}');
    expect(r.bundle.run.notes).toEqual(['fake target']);
    expect(r.bundle.run.options).toEqual({ requests: 3, freshConnections: false });
    expect(validateBundle(JSON.parse(JSON.stringify(r.bundle)))).toMatchObject({ valid: true });
    expect(r.exitCode).toBe(0);
    expect(r.output).toBe('table:proven');
    expect(log.releases).toEqual([{ keep: false, created: [{ apiVersion: 'v1', kind: 'Namespace', name: 'mesh-verify' }] }]);
  });

  it('--capture records from before the entry wait until the probe has answered, with the target\'s hops, and searches the run\'s ids', async () => {
    const { opts, deps } = setup({ lab: true, requests: '2', capture: true });
    const events: string[] = [];
    const target = await deps.prepare(opts, silentProgress);
    target.wireHops = () => [{ segment: 'client->nlb', address: '127.0.0.1', port: entry.port }];
    deps.prepare = async () => target;
    const probeIds: string[] = [];
    const realProbe = (await import('../../src/probe/probe.js')).runProbe;
    deps.probe = async (o) => { events.push('probe'); const r = await realProbe(o); probeIds.push(...r.requests.map((q) => q.id)); return r; };
    deps.startCapture = async (o) => {
      events.push(`start ${o.hops.map((h) => h.segment).join(',')} tool=${o.tool}`);
      return {
        unavailable: null,
        stop: async (markers) => {
          events.push(`stop ${markers.length}`);
          return { status: 'captured', reason: null, tool: 'tcpdump test', interface: 'lo', filter: 'tcp', startedAt: null, finishedAt: null, packets: 0, bytes: 0, truncated: false, marker: { header: 'x-mesh-verify-id', values: markers.length, example: markers[0] ?? null }, hops: [] };
        },
      };
    };
    const r = await runPath(opts, deps, silentProgress);
    expect(events).toEqual(['start client->nlb tool=null', 'probe', 'stop 2']);
    expect(r.bundle.wire?.marker).toEqual({ header: 'x-mesh-verify-id', values: 2, example: probeIds[0] });
    expect(validateBundle(r.bundle).valid).toBe(true);
  });

  it('--capture: the capture is stopped when the probe fails, and an unavailable capture is a note, not a failure', async () => {
    const { opts, deps } = setup({ lab: true, requests: '1', capture: true });
    let stops = 0;
    deps.startCapture = async () => ({ unavailable: null, stop: async () => { stops += 1; throw new Error('not used'); } });
    deps.probe = async () => { throw new Error('probe broke'); };
    await expect(runPath(opts, deps, silentProgress)).rejects.toThrow('probe broke');
    expect(stops).toBe(1);

    const line = 'packet capture unavailable: tcpdump not found (fix: ...); the wire level is skipped';
    const again = setup({ lab: true, requests: '1', capture: true });
    again.deps.startCapture = async () => ({
      unavailable: line,
      stop: async () => ({ status: 'unavailable', reason: line, tool: null, interface: 'lo', filter: 'tcp', startedAt: null, finishedAt: null, packets: 0, bytes: 0, truncated: false, marker: { header: 'x-mesh-verify-id', values: 1, example: null }, hops: [] }),
    });
    const r = await runPath(again.opts, again.deps, silentProgress);
    expect(r.bundle.wire?.status).toBe('unavailable');
    expect(r.bundle.run.notes).toContain(line);
    expect(r.exitCode).toBe(0);
  });

  it('maps --expect onto the exit code', async () => {
    const contradicted = { deployedCa: other.certPem, 'no-deploy': true };
    const cases: [RawPathOptions, typeof contradicted | object, number][] = [
      [{ expect: 'contradicted', deploy: false }, { deployedCa: other.certPem }, 0],
      [{ expect: 'contradicted' }, {}, 1],
      [{ expect: 'proven', deploy: false }, { deployedCa: other.certPem }, 1],
      [{ deploy: false }, { deployedCa: other.certPem }, 1],
      [{ expect: 'proven' }, {}, 0],
    ];
    for (const [raw, t, code] of cases) {
      const { opts, deps } = setup({ requests: '1', ...raw }, t);
      expect((await runPath(opts, deps, silentProgress)).exitCode, JSON.stringify(raw)).toBe(code);
    }
  });

  it('with --no-deploy verifies against the stored gateway CA and deploys nothing', async () => {
    const { opts, deps, log } = setup({ requests: '1', deploy: false });
    const r = await runPath(opts, deps, silentProgress);
    expect(log.deploys).toEqual([]);
    expect(r.bundle.path.gatewayCaPem).toBe(ca.certPem);
    expect(log.releases).toEqual([{ keep: false, created: [] }]);
  });

  it('writes the bundle and the reports into --report-dir', async () => {
    const out = join(dir, 'reports');
    const { opts, deps } = setup({ requests: '2', reportDir: out, keep: true });
    const r = await runPath(opts, deps, silentProgress);
    expect(r.files).toEqual([join(out, 'bundle.json'), join(out, 'report.json')]);
    const saved = JSON.parse(await readFile(join(out, 'bundle.json'), 'utf8'));
    expect(saved.run.id).toBe(r.bundle.run.id);
    expect(saved.requests).toHaveLength(2);
    expect(JSON.parse(await readFile(join(out, 'report.json'), 'utf8')).runId).toBe(r.bundle.run.id);
  });

  it('--bundle FILE wins over the report dir for the bundle', async () => {
    const file = join(dir, 'b.json');
    const { opts, deps } = setup({ requests: '1', bundle: file });
    const r = await runPath(opts, deps, silentProgress);
    expect(r.files).toEqual([file]);
    expect(JSON.parse(await readFile(file, 'utf8')).kind).toBe('mesh-verify/evidence-bundle');
  });

  it('cleans up what it created when a step fails, and keeps it with --keep', async () => {
    const boom = new Error('apply failed');
    const a = setup({ requests: '1' }, { deployFails: boom });
    await expect(runPath(a.opts, a.deps, silentProgress)).rejects.toBe(boom);
    expect(a.log.releases).toEqual([{ keep: false, created: [] }]);
    const b = setup({ requests: '1', keep: true });
    await runPath(b.opts, b.deps, silentProgress);
    expect(b.log.releases[0].keep).toBe(true);
  });

  it('on an interrupt leaves the cleanup to the signal handler', async () => {
    const { opts, deps, log } = setup({ requests: '1' });
    let cleanup: (() => Promise<void>) | null = null;
    deps.interrupt = (c) => { cleanup = c; return { dispose() {}, interrupted: true, done: Promise.resolve() }; };
    await runPath(opts, deps, silentProgress);
    expect(log.releases).toEqual([]);
    await cleanup!();
    await cleanup!();
    expect(log.releases).toHaveLength(1);
  });
});
