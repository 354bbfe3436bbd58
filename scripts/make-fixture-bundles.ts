/**
 * Records fixtures/bundles/*.bundle.json from REAL lab runs: for the healthy lab and for every
 * lab fault (src/lab/types.ts LAB_FAULTS) it runs `mesh-verify path --lab [--fault F]` in this
 * process (runPath with the CLI's own dependencies, as src/cli/commands/path.ts does), so the
 * admin captures, access logs, XFCC and handshakes in each bundle are what the pinned real Envoy
 * (fixtures/istio/versions.json `envoy.version`) produced. Each bundle's run.notes says so, with
 * the Envoy version and the recording time.
 *
 *   npm run fixtures:bundles                  # every fixture, into fixtures/bundles/
 *   npx tsx scripts/make-fixture-bundles.ts [outDir] [name ...]
 *
 * Needs the pinned Envoy (`npm run setup`). The recordings carry real timestamps, random run ids
 * and certificates valid for the lab's lifetimes; tests analyze them "at the run's time"
 * (test/analyze/fixture-bundles.ts analyzeAtRun), so nothing rots.
 *
 * Recorded evidence is kept as the run produced it (run id, request ids, timestamps, addresses of
 * the lab's loopback block), with one note prepended to run.notes, except that:
 *  - the Envoy binary's location on the recording machine becomes `<envoy>` and the lab's working
 *    directories `<lab-dir>` (a fixture never carries a path of the machine that recorded it).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentProgress } from '../src/core/progress.js';
import { saveBundle } from '../src/bundle/save.js';
import type { EvidenceBundle } from '../src/bundle/types.js';
import { LAB_FAULTS, type LabFault } from '../src/lab/types.js';
import { defaultPathDeps } from '../src/path/default-deps.js';
import { parsePathOptions } from '../src/path/options.js';
import { runPath } from '../src/path/run-path.js';

/** Requests per recorded run (small bundles; enough for per-request correlation). */
export const FIXTURE_REQUESTS = 5;

/** The fixtures, healthy first, then one per lab fault in LAB_FAULTS order. */
export const FIXTURE_RUNS: { name: string; fault: LabFault | null }[] = [
  { name: 'healthy', fault: null },
  ...LAB_FAULTS.map((fault) => ({ name: fault, fault })),
];

/** Replace every occurrence of `from` in the bundle's strings (JSON-level; the bundle is plain data). */
function replaceEverywhere(bundle: EvidenceBundle, from: string | RegExp, to: string): EvidenceBundle {
  const text = JSON.stringify(bundle);
  const out = typeof from === 'string' ? (from ? text.split(JSON.stringify(from).slice(1, -1)).join(to) : text) : text.replace(from, to);
  return JSON.parse(out) as EvidenceBundle;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The lab's working directories (`<tmpdir>/mesh-verify-lab-*`: Envoy's bootstrap, xDS files and
 * access-log files, named in config dumps and /server_info) become `<lab-dir>`: a fixture never
 * names a path of the machine that recorded it.
 */
export function labDirPattern(dir = tmpdir()): RegExp {
  return new RegExp(`${escapeRegExp(JSON.stringify(dir).slice(1, -1))}/mesh-verify-lab[-A-Za-z0-9_]*`, 'g');
}

/** One lab run recorded as a fixture bundle. */
export async function recordFixtureBundle(fault: LabFault | null, recordedAt = new Date()): Promise<EvidenceBundle> {
  const opts = parsePathOptions({ lab: true, ...(fault ? { fault } : {}), requests: String(FIXTURE_REQUESTS) });
  const result = await runPath(opts, defaultPathDeps(), silentProgress);
  let bundle = result.bundle;
  const { findEnvoy, pinnedEnvoyVersion } = await import('../src/lab/envoy/binary.js');
  const envoyPath = findEnvoy().path;
  bundle = replaceEverywhere(replaceEverywhere(bundle, envoyPath, '<envoy>'), labDirPattern(), '<lab-dir>');
  const version = envoyVersionOf(bundle) ?? pinnedEnvoyVersion();
  return {
    ...bundle,
    run: {
      ...bundle.run,
      notes: [
        `fixture recorded from a lab run with real Envoy ${version} on ${recordedAt.toISOString()} by scripts/make-fixture-bundles.ts (mesh-verify path --lab${fault ? ` --fault ${fault}` : ''} --requests ${FIXTURE_REQUESTS}); what was real and what simulated: ${bundle.run.target.description}`,
        ...bundle.run.notes,
      ],
    },
  };
}

/** The Envoy version the recorded gateway reported in /server_info (`<sha>/<version>/Clean/RELEASE/BoringSSL`). */
export function envoyVersionOf(bundle: EvidenceBundle): string | null {
  for (const p of bundle.proxies) {
    const body = p.admin.serverInfo?.body;
    if (!body) continue;
    try {
      const v = (JSON.parse(body) as { version?: string }).version?.split('/')[1];
      if (v) return v;
    } catch { /* not JSON: try the next proxy */ }
  }
  return null;
}

async function main(): Promise<void> {
  const [outArg, ...names] = process.argv.slice(2);
  const outDir = outArg ?? fileURLToPath(new URL('../fixtures/bundles/', import.meta.url));
  const runs = names.length > 0 ? FIXTURE_RUNS.filter((r) => names.includes(r.name)) : FIXTURE_RUNS;
  const unknown = names.filter((n) => !FIXTURE_RUNS.some((r) => r.name === n));
  if (unknown.length > 0) throw new Error(`unknown fixture ${unknown.join(', ')}; known: ${FIXTURE_RUNS.map((r) => r.name).join(', ')}`);
  // One lab at a time: each binds its own loopback block, but the machine's cores are shared.
  for (const { name, fault } of runs) {
    const file = join(outDir, `${name}.bundle.json`);
    const { bundle, redacted } = await saveBundle(file, await recordFixtureBundle(fault));
    const statuses = (await import('../src/analyze/analyze-bundle.js')).analyzeBundle(bundle, { now: new Date(bundle.run.startedAt) });
    process.stdout.write(`${name}: ${bundle.proxies.length} proxies, ${bundle.requests.length} requests, ${redacted.length} redacted; ` +
      `${statuses.segments.map((s) => `${s.id}=${s.status}`).join(' ')}; findings ${statuses.findings.map((f) => f.code).join(',') || '-'}\n`);
  }
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => { process.stderr.write(`${(err as Error).stack ?? err}\n`); process.exitCode = 1; });
}
