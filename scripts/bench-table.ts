/**
 * Speed check for the terminal tables (issue 14 item 4, issue 9 D6). Run: `npm run bench:table`
 *
 * Renders a findings table whose message cell is one long word (an identifier) or prose of
 * 1,000 to 1,000,000 characters, piped (no width) and fitted to 100 columns, and prints the
 * median time of each with its growth over the 10x smaller cell. Targets (linear, with room for a
 * loaded machine): 250 ms per 100,000 characters from 100,000 up, i.e. a 100,000-character cell
 * in well under a second and a 1,000,000-character one within 2.5 s (a quadratic renderer takes
 * 100x longer for 10x the cell; cli-table3 took 21 s for 4,000 characters). Exit code 1 when a
 * target is missed.
 */
import { performance } from 'node:perf_hooks';
import { renderTable } from '../src/report/table.js';

const TARGET_MS_PER_100K = 250;
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function cell(kind: 'word' | 'prose', size: number): string {
  if (kind === 'word') return 'x'.repeat(size);
  let s = '';
  for (let i = 0; s.length < size; i++) s += `word${i % 97} `;
  return s.slice(0, size);
}

function time(text: string, width: number | null): number {
  const rows = [['error', 'plaintext-accepted', 'pod mesh-verify/svc-5f7b8c9d4-k8m2p', text, 'make the port STRICT']];
  const runs: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t0 = performance.now();
    renderTable(['severity', 'code', 'object', 'message', 'fix'], rows, { width, wrap: [2, 3, 4], minWrapWidth: 30 });
    if (i >= 2) runs.push(performance.now() - t0); // two warm-up runs (JIT)
  }
  return median(runs);
}

let failed = false;
for (const kind of ['word', 'prose'] as const) {
  for (const width of [null, 100]) {
    let previous: number | null = null;
    for (const size of [1_000, 10_000, 100_000, 1_000_000]) {
      const ms = time(cell(kind, size), width);
      const growth = previous !== null && previous > 0.5 ? ms / previous : null;
      const notes: string[] = [];
      const target = size >= 100_000 ? (TARGET_MS_PER_100K * size) / 100_000 : null;
      if (target !== null && ms > target) notes.push(`MISSED: > ${target} ms`);
      if (notes.length > 0) failed = true;
      process.stdout.write(`${kind.padEnd(5)} width ${String(width ?? 'none').padEnd(4)} ${String(size).padStart(9)} chars: ${ms.toFixed(2).padStart(9)} ms${growth !== null ? `  (x${growth.toFixed(1)})` : ''}${notes.length ? `  ${notes.join('; ')}` : ''}\n`);
      previous = ms;
    }
  }
}
process.exitCode = failed ? 1 : 0;
