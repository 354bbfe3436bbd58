/**
 * Speed check for `mesh-verify inspect` (issue 2, section 8). Run: `npx tsx scripts/bench-parse.ts [dump.json]`
 *
 * 1. In-process: JSON.parse + inspectConfigDump of the 2.4 MB real dump (istio-1.18.2, from
 *    ../shared/reference) against a bare JSON.parse of the same text. Target: ratio <= 2.
 * 2. Wall time of `node bin/mesh-verify.js inspect --file <dump> -o json` (dist must be built:
 *    `npm run build`). Target: < 0.5 s.
 * Medians of several runs are printed; the exit code is 1 when a target is missed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { inspectConfigDump } from '../src/envoy/config-dump.js';

const RATIO_TARGET = 2;
const WALL_TARGET_MS = 500;
const IN_PROCESS_RUNS = 21;
const CLI_RUNS = 7;

const defaultDump = fileURLToPath(new URL('../../shared/reference/envoy/istio-1.18.2-sidecar-geo-config_dump.json', import.meta.url));
const dumpPath = process.argv[2] ?? defaultDump;
const bin = fileURLToPath(new URL('../bin/mesh-verify.js', import.meta.url));
const distMain = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

if (!existsSync(dumpPath)) {
  process.stderr.write(`bench-parse: ${dumpPath} not found (pass a config dump path, or place the reference captures beside the repository)\n`);
  process.exit(2);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
// Collect garbage before each timed run so that neither series pays for the other's garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function time(fn: () => void): number {
  gc();
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const text = readFileSync(dumpPath, 'utf8');
const now = new Date();
let sink = 0;
// Warm up both paths (JIT, X509 decoding code paths).
for (let i = 0; i < 3; i++) {
  sink += (JSON.parse(text) as { configs: unknown[] }).configs.length;
  sink += inspectConfigDump(JSON.parse(text), { now }).clusters.length;
}
const bare: number[] = [];
const full: number[] = [];
for (let i = 0; i < IN_PROCESS_RUNS; i++) {
  // Interleave so that GC and CPU frequency affect both series alike.
  bare.push(time(() => { sink += (JSON.parse(text) as { configs: unknown[] }).configs.length; }));
  full.push(time(() => { sink += inspectConfigDump(JSON.parse(text), { now }).clusters.length; }));
}
const bareMs = median(bare);
const fullMs = median(full);
const ratio = fullMs / bareMs;

let wallMs: number | null = null;
if (existsSync(distMain)) {
  const walls: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, 'inspect', '--file', dumpPath, '-o', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    walls.push(performance.now() - t0);
    if (r.status !== 0) {
      process.stderr.write(`bench-parse: mesh-verify inspect exited ${r.status}: ${r.stderr.toString()}\n`);
      process.exit(1);
    }
  }
  wallMs = median(walls);
}

const mb = (Buffer.byteLength(text) / 1e6).toFixed(2);
const lines = [
  `dump: ${mb} MB (${dumpPath.split('/').pop()})`,
  `JSON.parse:                 median ${bareMs.toFixed(1)} ms over ${IN_PROCESS_RUNS} runs`,
  `JSON.parse + inspect:       median ${fullMs.toFixed(1)} ms over ${IN_PROCESS_RUNS} runs`,
  `ratio:                      ${ratio.toFixed(2)}x (target <= ${RATIO_TARGET}x) ${ratio <= RATIO_TARGET ? 'OK' : 'MISSED'}`,
  wallMs === null
    ? 'CLI wall time:              skipped (dist/ not built: run `npm run build`)'
    : `CLI wall time (-o json):    median ${wallMs.toFixed(0)} ms over ${CLI_RUNS} runs (target < ${WALL_TARGET_MS} ms) ${wallMs < WALL_TARGET_MS ? 'OK' : 'MISSED'}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (sink < 0) process.stdout.write('');
process.exitCode = ratio <= RATIO_TARGET && (wallMs === null || wallMs < WALL_TARGET_MS) ? 0 : 1;
