/**
 * Wall time of `mesh-verify path --lab` end to end (a fresh `node bin/mesh-verify.js` process
 * each time: lab start, apply, wait, probe, collect through the API double, analyze, report,
 * lab stop). Target: median under 5 s. Needs a build (npm run build).
 *
 *   npx tsx scripts/bench-path-lab.ts [runs=5] [extra path flags...]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 5);
const extra = process.argv.slice(3);
const bin = fileURLToPath(new URL('../bin/mesh-verify.js', import.meta.url));
const times: number[] = [];
for (let i = 0; i < runs; i += 1) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'path', '--lab', '-q', '-o', 'json', ...extra], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  let overall = '?';
  try { overall = (JSON.parse(r.stdout) as { overall: string }).overall; } catch { /* keep ? */ }
  process.stdout.write(`run ${i + 1}: ${ms.toFixed(0)} ms, exit ${r.status}, ${overall}\n`);
  if (r.status !== 0 && extra.length === 0) process.stdout.write(`  stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
  times.push(ms);
}
times.sort((a, b) => a - b);
const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
process.stdout.write(`median ${median.toFixed(0)} ms over ${runs} runs (min ${times[0].toFixed(0)}, max ${times[times.length - 1].toFixed(0)}); target < 5000 ms\n`);
