import { join } from 'node:path';
import type { PathReport } from '../analyze/types.js';
import { BUNDLE_KIND, BUNDLE_SCHEMA_VERSION, type EvidenceBundle, type RequestRecord } from '../bundle/types.js';
import type { WireEvidence } from '../bundle/types.js';
import type { WireCaptureOptions, WireCaptureSession } from '../collect/wire/capture.js';
import type { Progress } from '../core/progress.js';
import { onInterrupt, type InterruptHook } from '../cluster/cleanup.js';
import { limit } from '../cluster/limits.js';
import { startCollection } from '../collect/collector.js';
import { withRequestIdTrails } from '../collect/request-ids.js';
import { correlationIds } from '../bundle/correlation.js';
import { runProbe, type ProbeOptions, type ProbeResult } from '../probe/probe.js';
import { waitForEntry } from '../probe/wait-entry.js';
import { leafSha256 } from '../topology/credentials.js';
import { referencePathSpec } from '../topology/path-spec.js';
import { VERSION } from '../version.js';
import type { Deployment } from './deploy.js';
import { expectationLine, withExpectation } from './expectation.js';
import type { OutputFormat, PathOptions } from './options.js';
import { newRunId } from './run-id.js';
import { referenceTargets } from './targets.js';
import type { PreparedTarget } from './target.js';

/** Files a run can write: the bundle and the rendered reports. */
export interface ReportWriter {
  /** Write the bundle atomically (scrubbed and validated); returns the bundle as written. */
  saveBundle(file: string, bundle: EvidenceBundle): Promise<EvidenceBundle>;
  /** report.json, junit.xml, report.md into dir (atomically); returns the paths written. */
  writeReports(dir: string, report: PathReport, bundle: EvidenceBundle): Promise<string[]>;
  /** The report as printed on stdout for -o. */
  render(report: PathReport, format: OutputFormat, bundle: EvidenceBundle): string | Promise<string>;
}

export interface PathRunDeps extends ReportWriter {
  /** Reach the target: kind (create/reuse) + Istio, any context + Istio, or the lab. */
  prepare(opts: PathOptions, progress: Progress): Promise<PreparedTarget>;
  analyze(bundle: EvidenceBundle, opts: { now: Date }): PathReport | Promise<PathReport>;
  probe?: (opts: ProbeOptions) => Promise<ProbeResult>;
  now?: () => Date;
  /** Signal handling (tests pass a fake; default: SIGINT/SIGTERM on this process). */
  interrupt?: (cleanup: () => Promise<void>, progress: Progress) => InterruptHook;
  /** Bounds (ms): entry readiness, each admin request, access-log flush wait. */
  timeouts?: { entry?: number; admin?: number; logWait?: number };
  /** Start the packet capture of --capture (default: tcpdump, src/collect/wire/capture.ts). */
  startCapture?: (opts: WireCaptureOptions) => Promise<WireCaptureSession>;
}

export interface PathRunResult {
  bundle: EvidenceBundle;
  report: PathReport;
  exitCode: number;
  /** What to print on stdout (the -o rendering). */
  output: string;
  files: string[];
}

/**
 * `mesh-verify path`: target -> (deploy) -> wait for the entry -> counters before -> probe ->
 * evidence after -> bundle -> analysis -> report. What this run created is removed at the end
 * and on Ctrl-C, unless --keep.
 */
export async function runPath(opts: PathOptions, deps: PathRunDeps, progress: Progress): Promise<PathRunResult> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const runId = newRunId(startedAt);
  const prepared = await deps.prepare(opts, progress);
  let created: Deployment['created'] = [];
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await prepared.release({ keep: opts.keep, created, progress });
  };
  const hook = (deps.interrupt ?? ((c, p) => onInterrupt(c, { progress: p })))(release, progress);
  // --capture: started before the first request of the run, stopped after the probe (or here).
  const wire: { session: WireCaptureSession | null; evidence: WireEvidence | null } = { session: null, evidence: null };
  try {
    return await verify();
  } finally {
    if (wire.session && !wire.evidence) await wire.session.stop([]).catch(() => {});
    hook.dispose();
    if (!hook.interrupted) await release();
  }

  async function startCapture(): Promise<WireCaptureSession> {
    const hops = prepared.wireHops?.() ?? [];
    const where = [...new Set(hops.map((h) => h.at?.name ?? 'lo'))].join(', ');
    const step = progress.step(`starting the packet capture of ${hops.length} hops on ${where}`);
    const start = deps.startCapture ?? (await import('../collect/wire/capture.js')).startWireCapture;
    const session = await start({ hops, tool: opts.captureTool });
    if (session.unavailable) step.skip(session.unavailable);
    else step.succeed(`packet capture running (${hops.length} hops, filtered to the lab's addresses)`);
    return session;
  }

  async function verify(): Promise<PathRunResult> {
    if (prepared.target.simulated) progress.info(`target: ${prepared.target.description}`);
    let caPem: string | null;
    let expectLeaf: string | null = null;
    if (opts.deploy) {
      const deployment = await prepared.deploy({ runId, scenario: opts.scenario, progress });
      created = deployment.created;
      caPem = deployment.caPem;
      expectLeaf = deployment.serverCertPem ? leafSha256(deployment.serverCertPem) : null;
    } else {
      caPem = await prepared.deployedCa();
      if (!caPem) progress.warn('no gateway CA stored by an earlier deploy: the client verifies the gateway against the system roots');
    }
    const entry = await prepared.entry();
    const path = referencePathSpec({ entry, gatewayCaPem: caPem, host: prepared.host, gateway: prepared.gateway });

    // Recording starts before the readiness check, so every connection's TLS handshake is on the wire.
    if (opts.capture) wire.session = await startCapture();
    const waitingFor = `https://${prepared.host} through ${entry.address}:${entry.port}${expectLeaf ? ` serving this run's certificate (sha256 ${expectLeaf.slice(0, 16)}...)` : ''}`;
    const ready = progress.step(`waiting for ${waitingFor}`);
    const entryTimeoutMs = deps.timeouts?.entry ?? (prepared.target.kind === 'lab' ? 5_000 : 60_000);
    const waited = await waitForEntry({
      address: entry.address, port: entry.port, host: prepared.host, timeoutMs: entryTimeoutMs, expectLeafSha256: expectLeaf,
      onRetry: (why, ms) => ready.update(`waiting for ${waitingFor} (${Math.round(ms / 1000)} s of ${Math.round(entryTimeoutMs / 1000)} s: ${why})`),
    });
    const runNotes: string[] = [];
    if (waited.leafMismatch) {
      const line = `the gateway never served this run's certificate (sha256 ${expectLeaf}) within ${Math.round(entryTimeoutMs / 1000)} s: it served sha256 ${waited.servedLeaf?.sha256} (${waited.servedLeaf?.subject}); the client-side verdicts judge that certificate`;
      ready.fail(`${line}; probing anyway`);
      runNotes.push(line);
    } else if (waited.notReady) ready.fail(`the path does not answer yet (${waited.notReady}); probing anyway`);
    else ready.succeed(`the path answers through ${entry.address}:${entry.port}${expectLeaf ? ", serving this run's certificate" : ''}`);

    const open = progress.step('opening the admin ports of gateway, bff and svc');
    const collection = await startCollection(referenceTargets(prepared.gateway), prepared.collectDeps(), {
      timeoutMs: deps.timeouts?.admin ?? limit('ADMIN_REQUEST_TIMEOUT_MS'),
      logWaitMs: deps.timeouts?.logWait ?? 12_000,
      onProblem: (proxy, message) => progress.warn(`${proxy}: ${message}`),
    });
    open.succeed('admin ports open');
    if (opts.deploy) {
      // What was just applied reaches Envoy through istiod's push, some time after the apply:
      // probe once no proxy has taken a configuration update for a while.
      const quietMs = prepared.target.kind === 'lab' ? 1_500 : 2_000;
      const settleLimitMs = prepared.target.kind === 'lab' ? 10_000 : 30_000;
      const settle = progress.step(`waiting until the proxies' configuration settles (no xDS update for ${quietMs / 1000} s)`);
      const s = await collection.settle({ quietMs, timeoutMs: settleLimitMs, onWait: (ms) => settle.update(`waiting until the proxies' configuration settles (${Math.round(ms / 1000)} s of ${settleLimitMs / 1000} s)`) });
      if (s.settled) settle.succeed(`the proxies' configuration settled (${s.updates} update${s.updates === 1 ? '' : 's'} seen in ${(s.waitedMs / 1000).toFixed(1)} s)`);
      else {
        const line = `the proxies kept taking configuration updates for ${settleLimitMs / 1000} s after the apply; the requests were sent anyway`;
        settle.fail(line);
        runNotes.push(line);
      }
    }
    let probe: ProbeResult;
    let proxies: EvidenceBundle['proxies'];
    try {
      const before = progress.step('reading counters before the requests');
      await collection.before();
      before.succeed('counters read before the requests');

      const send = progress.step(`sending ${opts.requests} requests${opts.freshConnections ? ' on fresh connections' : ''}`);
      const probeStart = now();
      probe = await (deps.probe ?? runProbe)({
        address: entry.address, port: entry.port, host: prepared.host, caPem, runId,
        requests: opts.requests, freshConnections: opts.freshConnections, now,
        ...(opts.clientOffer.groups || opts.clientOffer.ciphers ? { offer: opts.clientOffer } : {}),
      });
      if (wire.session) {
        const w = wire.evidence = await wire.session.stop(probe.requests.map((r) => r.id));
        if (w.status === 'unavailable') runNotes.push(w.reason ?? 'packet capture unavailable: the wire level is skipped');
        else if (w.truncated) runNotes.push(`packet capture ${w.reason ?? 'truncated'}: later packets were not recorded`);
      }
      // Never "ok" for a probe that got no answer at all.
      if (probe.requests.some((r) => r.status === 200)) send.succeed(probeSummary(probe));
      else send.fail(probeSummary(probe));

      const after = progress.step('collecting evidence from the proxies');
      // Our ids and the x-request-ids the apps saw (the gateway replaces the probe's).
      proxies = await collection.after(correlationIds(probe.requests), probeStart, reachedSvc(probe.requests), answered(probe.requests));
      const reached = proxies.filter((p) => p.reachable).length;
      after.succeed(`evidence collected from ${reached}/${proxies.length} proxies`);
    } finally {
      await collection.close();
    }

    const built: EvidenceBundle = {
      schemaVersion: BUNDLE_SCHEMA_VERSION,
      kind: BUNDLE_KIND,
      run: {
        id: runId,
        startedAt: startedAt.toISOString(),
        finishedAt: now().toISOString(),
        tool: { name: 'mesh-verify', version: VERSION },
        target: prepared.target,
        istio: prepared.istio,
        scenario: opts.scenario,
        fault: opts.fault,
        options: {
          requests: opts.requests, freshConnections: opts.freshConnections,
          ...(opts.clientOffer.groups ? { tlsGroups: opts.clientOffer.groups } : {}),
          ...(opts.clientOffer.ciphers ? { tlsCiphers: opts.clientOffer.ciphers } : {}),
        },
        notes: [...prepared.notes, ...runNotes],
      },
      path,
      proxies,
      client: probe.client,
      requests: withRequestIdTrails(probe.requests, proxies),
      ...(wire.evidence ? { wire: wire.evidence } : {}),
    };
    const files: string[] = [];
    const bundleFile = opts.bundle ?? (opts.reportDir ? join(opts.reportDir, 'bundle.json') : null);
    const bundle = bundleFile ? await deps.saveBundle(bundleFile, built) : built;
    if (bundleFile) files.push(bundleFile);

    const verdicts = await deps.analyze(bundle, { now: now() });
    const line = expectationLine(verdicts, opts.expect);
    const report = withExpectation(verdicts, opts.expect);
    const exitCode = report.exitCode;
    if (opts.reportDir) files.push(...await deps.writeReports(opts.reportDir, report, bundle));
    if (line) progress.info(line);
    for (const f of files) progress.info(`wrote ${f}`);
    return { bundle, report, exitCode, output: await deps.render(report, opts.output, bundle), files };
  }
}

/** Ids of the requests that reached svc (every proxy of the path must have logged them). */
/** Requests that got an HTTP answer: the gateway logged each of them, whatever the status. */
function answered(requests: readonly RequestRecord[]): string[] {
  return requests.filter((r) => r.status !== null).map((r) => r.id);
}

function reachedSvc(requests: readonly RequestRecord[]): string[] {
  return requests.filter((r) => r.status === 200 && r.response?.upstream?.status === 200 && r.response.upstream.body).map((r) => r.id);
}

function probeSummary(p: ProbeResult): string {
  const ok = p.requests.filter((r) => r.status === 200).length;
  const tls = p.client.tlsVersion ? `${p.client.tlsVersion}, ${p.client.authorized ? 'certificate verified' : `certificate NOT verified (${p.client.authorizationError})`}` : (p.client.error ?? 'no TLS');
  return `${ok}/${p.requests.length} requests answered 200 (${tls})`;
}
