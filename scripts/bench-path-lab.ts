/**
 * Wall time and peak memory of `mesh-verify path --lab` end to end (a fresh `node
 * bin/mesh-verify.js` process each time: lab start (4 real Envoys and 2 apps, in parallel),
 * apply, wait, probe, collect through the API double, analyze, report, lab stop). Peak memory is
 * the largest sum of RSS over the CLI process and all its descendants (Envoys, apps), sampled
 * every 50 ms from /proc (Linux). Target: median wall time under 5 s. Needs a build (npm run build).
 *
 *   npx tsx scripts/bench-path-lab.ts [runs=5] [extra path flags...]
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 5);
const extra = process.argv.slice(3);
const bin = fileURLToPath(new URL('../bin/mesh-verify.js', import.meta.url));

/** Sum of VmRSS (bytes) of `root` and its descendants. */
function treeRss(root: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d}/status`, 'utf8'));
      rss.set(Number(d), m ? Number(m[1]) * 1024 : 0);
    } catch { /* gone */ }
  }
  const inTree = (pid: number): boolean => { for (let p = pid, i = 0; p > 1 && i < 64; p = parent.get(p) ?? 0, i += 1) if (p === root) return true; return false; };
  let sum = 0;
  for (const [pid, bytes] of rss) if (inTree(pid)) sum += bytes;
  return sum;
}

function once(): Promise<{ ms: number; status: number | null; overall: string; peak: number; stderr: string }> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [bin, 'path', '--lab', '-q', '-o', 'json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c; });
    child.stderr.on('data', (c: Buffer) => { err += c; });
    let peak = 0;
    const timer = setInterval(() => { peak = Math.max(peak, treeRss(child.pid!)); }, 50);
    child.on('exit', (status) => {
      clearInterval(timer);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      let overall = '?';
      try { overall = (JSON.parse(out) as { overall: string }).overall; } catch { /* keep ? */ }
      resolve({ ms, status, overall, peak, stderr: err });
    });
  });
}

const times: number[] = [];
const peaks: number[] = [];
for (let i = 0; i < runs; i += 1) {
  const r = await once();
  process.stdout.write(`run ${i + 1}: ${r.ms.toFixed(0)} ms, peak ${(r.peak / 2 ** 20).toFixed(0)} MiB (all processes), exit ${r.status}, ${r.overall}\n`);
  if (r.status !== 0 && extra.length === 0) process.stdout.write(`  stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
  times.push(r.ms);
  peaks.push(r.peak);
}
times.sort((a, b) => a - b);
const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
process.stdout.write(`median ${median.toFixed(0)} ms over ${runs} runs (min ${times[0].toFixed(0)}, max ${times[times.length - 1].toFixed(0)}); target < 5000 ms\n`);
process.stdout.write(`peak memory (all processes) max ${(Math.max(...peaks) / 2 ** 20).toFixed(0)} MiB\n`);
