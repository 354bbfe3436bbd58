/**
 * Fuzz harness for `mesh-verify inspect` and `mesh-verify analyze` (issue 14 section 4).
 * Run: `npx tsx scripts/fuzz.ts [--count N] [--seed S] [--time-ms T]` (defaults: 2,000 mutants,
 * seed 1, at most 300 s). test/fuzz/fuzz-short.test.ts runs a short pass of it in CI.
 *
 * Mutants of real dumps (../shared/reference/envoy/*config_dump*.json, when present beside the
 * repository) and of the fixture bundles (fixtures/bundles/) are written to a temporary file and
 * run through the CLI in this process. Each must end with an exit code in {0, 1, 2, 3}; an exit 2
 * must print exactly one line on stderr without control characters (no terminal escapes, no raw
 * bytes); and each run must end within `--case-ms` (default 20 s). Bounded in count and in time;
 * deterministic for a seed. Exit code 1 when a mutant broke a rule (each one is printed).
 */
import { seededRandom } from '../src/util/rng.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { main } from '../src/cli/main.js';

export interface FuzzSource { name: string; command: 'inspect' | 'analyze'; text: string }

export interface FuzzFailure { source: string; mutation: string; status: number | 'timeout'; stderr: string; rule: string }

export interface FuzzResult { runs: number; byStatus: Record<string, number>; failures: FuzzFailure[]; elapsedMs: number }

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NOW = '2026-03-02T10:00:00Z';

/** The inputs mutated: fixture bundles (always) and real config dumps (when present). */
export function fuzzSources(): FuzzSource[] {
  const out: FuzzSource[] = [];
  const bundles = join(ROOT, 'fixtures', 'bundles');
  for (const f of readdirSync(bundles).filter((n) => n.endsWith('.bundle.json')).sort()) {
    out.push({ name: `fixtures/bundles/${f}`, command: 'analyze', text: readFileSync(join(bundles, f), 'utf8') });
  }
  const reference = join(ROOT, '..', 'shared', 'reference', 'envoy');
  if (existsSync(reference)) {
    for (const f of readdirSync(reference).filter((n) => /config_dump.*\.json$/.test(n)).sort()) {
      out.push({ name: `reference/envoy/${f}`, command: 'inspect', text: readFileSync(join(reference, f), 'utf8') });
    }
  }
  return out;
}

/** mulberry32 (src/util/rng.ts): a failing mutant can be found again by its seed. */
const prng = seededRandom;

const TOKENS = [
  'NaN', 'Infinity', '-Infinity', '-', '1e99999', '-0', '9'.repeat(400), 'null', 'true', '{', '}', '[', ']', ',', ':', '"',
  '"\u001b[31mred\u001b[0m"', '\u001b]0;title\u0007', '\u009b31m', '\ufeff', '\u0000', '\\u0000', '"\\ud800"', '\u2028', '[[[[[[[[[[[[', '{"a":',
];

type Mutation = { name: string; apply: (text: string, rnd: () => number) => string };

const pick = <T>(xs: readonly T[], rnd: () => number): T => xs[Math.floor(rnd() * xs.length)];
const pos = (text: string, rnd: () => number): number => Math.floor(rnd() * (text.length + 1));

function deepValue(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Replace one JSON value (found by walking the parsed document at random) with `replacement`. */
function replaceValue(text: string, rnd: () => number, replacement: () => unknown): string {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { return text; }
  let parent: Record<string, unknown> | unknown[] | null = null;
  let key: string | number | null = null;
  let v: unknown = doc;
  for (let depth = 0; depth < 40 && typeof v === 'object' && v !== null; depth++) {
    const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    if (keys.length === 0 || (depth > 1 && rnd() < 0.2)) break;
    parent = v as Record<string, unknown>;
    key = pick(keys, rnd);
    v = (v as Record<string | number, unknown>)[key];
  }
  if (parent === null || key === null) return text;
  (parent as Record<string | number, unknown>)[key] = replacement();
  return JSON.stringify(doc);
}

const MUTATIONS: Mutation[] = [
  { name: 'flip a byte', apply: (t, r) => { const i = pos(t, r); return `${t.slice(0, i)}${String.fromCharCode(Math.floor(r() * 256))}${t.slice(i + 1)}`; } },
  { name: 'truncate', apply: (t, r) => t.slice(0, pos(t, r)) },
  { name: 'truncate by one byte', apply: (t) => t.trimEnd().slice(0, -1) },
  { name: 'delete a span', apply: (t, r) => { const i = pos(t, r); return t.slice(0, i) + t.slice(i + Math.floor(r() * 200)); } },
  { name: 'duplicate a span', apply: (t, r) => { const i = pos(t, r); return t.slice(0, i) + t.slice(i, i + Math.floor(r() * 400)) + t.slice(i); } },
  { name: 'insert a token', apply: (t, r) => { const i = pos(t, r); return t.slice(0, i) + pick(TOKENS, r) + t.slice(i); } },
  { name: 'prepend a BOM', apply: (t) => `\ufeff${t}` },
  { name: 'corrupt a number', apply: (t, r) => {
    const digits = [...t.matchAll(/\d/g)];
    if (digits.length === 0) return t;
    const m = pick(digits, r);
    return `${t.slice(0, m.index)}${(Number(m[0]) + 1 + Math.floor(r() * 8)) % 10}${t.slice((m.index ?? 0) + 1)}`;
  } },
  { name: 'replace a value with another type', apply: (t, r) => replaceValue(t, r, () => pick([null, 0, -1, 1e308, '', 'x'.repeat(100_000), [], {}, true, '\u001b[2J', { '\u001b[31m': 1 }], r)) },
  { name: 'replace a value with deep nesting', apply: (t, r) => {
    const depth = pick([1_000, 10_000, 100_000], r);
    const marker = '"__deep__"';
    return replaceValue(t, r, () => '__deep__').replace(marker, deepValue(depth));
  } },
  { name: 'a string value with terminal escapes', apply: (t, r) => replaceValue(t, r, () => '\u001b[31mred\u001b[0m\r\nline two') },
];

async function runInProcess(args: string[], caseMs: number): Promise<{ status: number | 'timeout'; stderr: string }> {
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true; }) as typeof process.stderr.write;
  let timer: NodeJS.Timeout | undefined;
  try {
    const status = await Promise.race([
      main(['node', 'mesh-verify', ...args]),
      new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), caseMs); }),
    ]);
    return { status, stderr };
  } finally {
    clearTimeout(timer);
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** The rule a run broke, or null. */
export function broken(status: number | 'timeout', stderr: string): string | null {
  if (status === 'timeout') return 'did not end in time';
  if (![0, 1, 2, 3].includes(status)) return `exit ${status}`;
  if (status === 2) {
    const lines = stderr.split('\n').filter((l) => l !== '');
    if (lines.length !== 1) return `exit 2 with ${lines.length} stderr lines`;
    if (CONTROL.test(stderr.replace(/\n$/, ''))) return 'exit 2 message with control characters';
  }
  return null;
}

export async function runFuzz(opts: { count: number; seed: number; timeMs: number; caseMs?: number; sources?: FuzzSource[] }): Promise<FuzzResult> {
  const sources = opts.sources ?? fuzzSources();
  const rnd = prng(opts.seed);
  const dir = await mkdtemp(join(tmpdir(), 'mv-fuzz-'));
  const started = Date.now();
  const byStatus: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let runs = 0;
  try {
    for (; runs < opts.count && Date.now() - started < opts.timeMs; runs++) {
      const source = sources[runs % sources.length];
      const mutation = pick(MUTATIONS, rnd);
      const text = mutation.apply(source.text, rnd);
      const file = join(dir, `mutant-${runs}.json`);
      await writeFile(file, text);
      const args = source.command === 'inspect' ? ['inspect', '-f', file, '--now', NOW] : ['analyze', file, '--now', NOW];
      const { status, stderr } = await runInProcess(args, opts.caseMs ?? 20_000);
      byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
      const rule = broken(status, stderr);
      if (rule) failures.push({ source: source.name, mutation: `${mutation.name} (mutant ${runs}, seed ${opts.seed})`, status, stderr: stderr.slice(0, 400), rule });
      await rm(file, { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { runs, byStatus, failures, elapsedMs: Date.now() - started };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runFuzz({ count: arg('--count', 2000), seed: arg('--seed', 1), timeMs: arg('--time-ms', 300_000), caseMs: arg('--case-ms', 20_000) });
  process.stdout.write(`${result.runs} mutants in ${(result.elapsedMs / 1000).toFixed(1)} s; exit codes ${JSON.stringify(result.byStatus)}\n`);
  for (const f of result.failures) process.stdout.write(`FAIL ${f.rule}: ${f.source}, ${f.mutation}: ${JSON.stringify(f.stderr)}\n`);
  process.exitCode = result.failures.length > 0 ? 1 : 0;
}
