/**
 * Speed check for every output format of the path report (issue 14 section 4). Run:
 * `npm run bench:render`. A report whose one finding carries a field of 10,000 to 1,000,000
 * characters (prose, and one unbreakable word) is rendered as table (110 columns), wide, json,
 * junit and markdown; the median of 5 runs is printed with its growth over the 10x smaller field.
 * Target: a 100,000-character field renders in under 1 s in every format (linear: 10x the field,
 * about 10x the time). Exit code 1 when a target is missed.
 */
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { analyzeBundle } from '../src/analyze/analyze-bundle.js';
import { PATH_REPORT_FORMATS, renderPathReport } from '../src/report/path-report.js';
import type { EvidenceBundle } from '../src/bundle/types.js';

const TARGET_MS_100K = 1000;
const RUNS = 5;
const fixture = readFileSync(new URL('../fixtures/bundles/healthy.bundle.json', import.meta.url), 'utf8');

function field(kind: 'prose' | 'word', size: number): string {
  if (kind === 'word') return 'x'.repeat(size);
  let s = '';
  for (let i = 0; s.length < size; i++) s += `word${i % 97} `;
  return s.slice(0, size);
}

function report(text: string) {
  const b = JSON.parse(fixture) as EvidenceBundle;
  const svc = b.proxies.find((p) => p.id === 'svc');
  if (!svc) throw new Error('no svc proxy');
  svc.reachable = false;
  svc.errors = [{ endpoint: '/config_dump', phase: 'after', message: text }];
  return analyzeBundle(b, { now: new Date(b.run.startedAt) });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

let missed = 0;
for (const kind of ['prose', 'word'] as const) {
  for (const format of PATH_REPORT_FORMATS) {
    let previous: number | null = null;
    const cells: string[] = [];
    for (const size of [10_000, 100_000, 1_000_000]) {
      const r = report(field(kind, size));
      const runs: number[] = [];
      for (let i = 0; i < RUNS + 2; i++) {
        const t0 = performance.now();
        renderPathReport(r, format, { width: 110, verbose: true });
        if (i >= 2) runs.push(performance.now() - t0);
      }
      const ms = median(runs);
      if (size === 100_000 && ms > TARGET_MS_100K) missed += 1;
      cells.push(`${size.toLocaleString('en')}: ${ms.toFixed(1)} ms${previous ? ` (x${(ms / Math.max(previous, 0.01)).toFixed(1)})` : ''}`);
      previous = ms;
    }
    process.stdout.write(`${format.padEnd(8)} ${kind.padEnd(5)} ${cells.join('  ')}\n`);
  }
}
process.stdout.write(missed ? `${missed} format(s) missed ${TARGET_MS_100K} ms for 100,000 characters\n` : `every format renders 100,000 characters within ${TARGET_MS_100K} ms\n`);
process.exitCode = missed ? 1 : 0;
