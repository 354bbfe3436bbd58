import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * Issue 14, section 0: withTimeout's timer was unref'd, so an operation that never settled let
 * Node exit (code 0) instead of ending as a timeout. Run in a child process, where nothing else
 * keeps the event loop alive.
 */
describe('withTimeout', () => {
  it('keeps the process alive until its deadline fires, then rejects', () => {
    const concurrency = new URL('../../src/collect/concurrency.ts', import.meta.url).href;
    const script = `import { withTimeout } from ${JSON.stringify(concurrency)};
      withTimeout(new Promise(() => {}), 200, 'reading the log').then(
        () => { console.log('settled'); process.exitCode = 9; },
        (e) => { console.log(e.message); process.exitCode = 3; });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout.trim()).toBe('reading the log timed out after 200 ms');
    expect(r.status).toBe(3);
  });
});
