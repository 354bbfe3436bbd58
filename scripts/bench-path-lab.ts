/**
 * The lab on its real control plane, as a user runs it (issue 12's targets): `mesh-verify lab up`
 * until it prints its kubeconfig (etcd, kube-apiserver, controller-manager, scheduler, kwok, Istio's
 * CRDs, the topology rolled out, 4 Envoys and 2 apps): target < 60 s; then `mesh-verify path
 * --kubeconfig <lab>` against it (apply, wait, settle, probe, collect, analyze, report): target
 * < 15 s; then Ctrl-C (SIGINT) and the time until lab up has stopped everything. Peak memory is
 * the largest sum of RSS over both CLI processes and all their descendants, sampled every 50 ms
 * from /proc (Linux). Fresh processes each run; needs a build (npm run build) and npm run setup.
 *
 *   npx tsx scripts/bench-path-lab.ts [runs=5] [extra path flags...]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

interface Run { labMs: number; pathMs: number; stopMs: number; status: number | null; overall: string; peak: number; stderr: string }

async function once(): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'mv-bench-'));
  const kubeconfig = join(dir, 'kubeconfig');
  let peak = 0;
  const roots: number[] = [];
  const timer = setInterval(() => { peak = Math.max(peak, roots.reduce((n, pid) => n + treeRss(pid), 0)); }, 50);
  try {
    const t0 = process.hrtime.bigint();
    const lab = spawn(process.execPath, [bin, 'lab', 'up', '-q', '--kubeconfig-out', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    roots.push(lab.pid!);
    let labOut = '';
    let labErr = '';
    lab.stderr.on('data', (c: Buffer) => { labErr += c; });
    const labExit = new Promise<number | null>((r) => lab.on('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      lab.stdout.on('data', (c: Buffer) => { labOut += c; if (labOut.includes('Press Ctrl-C')) resolve(); });
      void labExit.then((code) => reject(new Error(`lab up exited ${code}: ${labErr.trim().split('\n').slice(-2).join(' | ')}`)));
    });
    const labMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const t1 = process.hrtime.bigint();
    const path = spawn(process.execPath, [bin, 'path', '--kubeconfig', kubeconfig, '-q', '-o', 'json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    roots.push(path.pid!);
    let out = '';
    let err = '';
    path.stdout.on('data', (c: Buffer) => { out += c; });
    path.stderr.on('data', (c: Buffer) => { err += c; });
    const status = await new Promise<number | null>((r) => path.on('exit', (code) => r(code)));
    const pathMs = Number(process.hrtime.bigint() - t1) / 1e6;
    const t2 = process.hrtime.bigint();
    lab.kill('SIGINT');
    await labExit;
    const stopMs = Number(process.hrtime.bigint() - t2) / 1e6;
    let overall = '?';
    try { overall = (JSON.parse(out) as { overall: string }).overall; } catch { /* keep ? */ }
    return { labMs, pathMs, stopMs, status, overall, peak, stderr: err };
  } finally {
    clearInterval(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const t = [...xs].sort((a, b) => a - b);
  return t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
};
const runsOut: Run[] = [];
for (let i = 0; i < runs; i += 1) {
  const r = await once();
  process.stdout.write(`run ${i + 1}: lab up ${r.labMs.toFixed(0)} ms, path ${r.pathMs.toFixed(0)} ms (exit ${r.status}, ${r.overall}), stop ${r.stopMs.toFixed(0)} ms, peak ${(r.peak / 2 ** 20).toFixed(0)} MiB (all processes)\n`);
  if (r.status !== 0 && extra.length === 0) process.stdout.write(`  stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
  runsOut.push(r);
}
const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;
const lab = runsOut.map((r) => r.labMs);
const path = runsOut.map((r) => r.pathMs);
process.stdout.write(`lab up: median ${median(lab).toFixed(0)} ms (${range(lab)}) over ${runs} runs; target < 60000 ms\n`);
process.stdout.write(`path against it: median ${median(path).toFixed(0)} ms (${range(path)}); target < 15000 ms\n`);
process.stdout.write(`stop (SIGINT): median ${median(runsOut.map((r) => r.stopMs)).toFixed(0)} ms; peak memory (all processes) max ${(Math.max(...runsOut.map((r) => r.peak)) / 2 ** 20).toFixed(0)} MiB\n`);
