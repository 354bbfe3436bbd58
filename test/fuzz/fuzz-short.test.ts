import { describe, expect, it } from 'vitest';
import { broken, fuzzSources, runFuzz } from '../../scripts/fuzz.js';

/**
 * A short, bounded pass of the fuzz harness (scripts/fuzz.ts, issue 14 section 4): 200 mutants of
 * the fixture bundles and (when ../shared/reference is present) of real config dumps, each run
 * through `analyze` or `inspect` in this process. Every one must exit 0, 1, 2 or 3, and an exit 2
 * must be one line without control characters. Deterministic (fixed seed); the full harness
 * (`npx tsx scripts/fuzz.ts --count 6000`) is for local runs.
 */
describe('fuzz harness, short pass', () => {
  it('has fixture bundles to mutate (and real dumps when present)', () => {
    const sources = fuzzSources();
    expect(sources.filter((s) => s.command === 'analyze').length).toBeGreaterThanOrEqual(8);
  });

  it('its rules catch what they are meant to catch', () => {
    expect(broken(70, 'mesh-verify: internal error: x\n')).toBe('exit 70');
    expect(broken('timeout', '')).toBe('did not end in time');
    expect(broken(2, 'mesh-verify: a\nsecond line\n')).toBe('exit 2 with 2 stderr lines');
    expect(broken(2, 'mesh-verify: \u001b[31mred\n')).toBe('exit 2 message with control characters');
    expect(broken(2, 'mesh-verify: f.json: is not valid JSON (line 1, column 2)\n')).toBeNull();
    expect(broken(3, '')).toBeNull();
  });

  it('200 mutants: exit codes in {0,1,2,3}, one clean line for exit 2, none hangs', async () => {
    const result = await runFuzz({ count: 200, seed: 14, timeMs: 150_000, caseMs: 20_000 });
    expect(result.failures).toEqual([]);
    expect(result.runs).toBe(200);
    // the mutants reach past the parser: some are still judged (0/1/3), some refused (2)
    expect(result.byStatus['2']).toBeGreaterThan(0);
    expect((result.byStatus['0'] ?? 0) + (result.byStatus['1'] ?? 0) + (result.byStatus['3'] ?? 0)).toBeGreaterThan(0);
  }, 180_000);
});
