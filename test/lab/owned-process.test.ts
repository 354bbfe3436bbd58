import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const processModule = new URL('../../src/lab/envoy/process.ts', import.meta.url).pathname;
/** Running (not gone, not a zombie waiting for init to reap it). */
function alive(pid: number): boolean {
  try { return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

describe('spawnOwned: what the lab starts dies with its owner, also when the owner is killed outright', () => {
  it('a process spawned by an owner that gets SIGKILL (no exit handler runs) is killed by the kernel', async () => {
    // The owner: a Node process that spawns a long sleep through spawnOwned and prints its pid.
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
      `const { spawnOwned } = await import(${JSON.stringify(processModule)}); const c = spawnOwned('sleep', ['60'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      owner.stdout!.once('data', (c: Buffer) => resolve(Number(String(c).trim())));
      owner.once('exit', (code) => reject(new Error(`owner exited (${code})`)));
    });
    expect(alive(pid)).toBe(true);
    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('exit', r));
    let gone = false;
    for (let i = 0; i < 50 && !gone; i += 1) { gone = !alive(pid); if (!gone) await new Promise((r) => setTimeout(r, 100)); }
    expect(gone).toBe(true);
  });
});
