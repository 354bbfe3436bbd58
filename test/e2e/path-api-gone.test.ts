import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startLab } from '../../src/lab/lab.js';

/**
 * Issue 14, section 0: `path --kubeconfig` exited 0 with no report at all when the API server
 * (and with it every port-forward) went away during evidence collection: an unref'd timer let
 * an await that never settled end the process with Node's default code. Now every pending
 * operation has a deadline that keeps the process alive until it fires; a run that produced no
 * report exits 3 or 4 with one line. The CLI runs from dist/ as a child process (npm test builds
 * it first), against a lab started here and stopped once the collection has begun.
 */

const bin = new URL('../../bin/mesh-verify.js', import.meta.url).pathname;

/** Short collection deadlines (src/cluster/limits.ts) keep the run short once the lab is gone. */
const ENV = {
  MESH_VERIFY_ADMIN_REQUEST_TIMEOUT_MS: '2000',
  MESH_VERIFY_LOG_READ_TIMEOUT_MS: '2000',
  MESH_VERIFY_API_REQUEST_TIMEOUT_MS: '3000',
};

async function runStoppingLab(args: string[], stopDelayMs: number): Promise<{ status: number | null; stdout: string; stderr: string; stoppedDuringCollection: boolean }> {
  const lab = await startLab({});
  let stopping: Promise<void> | null = null;
  try {
    return await new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, 'path', '--kubeconfig', lab.kubeconfigPath, '--no-deploy', '--requests', '3', ...args], {
        env: { ...process.env, CI: 'true', KUBECONFIG: '', ...ENV },
      });
      let stdout = '';
      let stderr = '';
      let stoppedDuringCollection = false;
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => {
        stderr += d;
        if (!stopping && /\.\.\. collecting evidence from the proxies/.test(stderr)) {
          stopping = new Promise((r) => setTimeout(r, stopDelayMs)).then(() => {
            stoppedDuringCollection = !/evidence collected from/.test(stderr);
            return lab.stop();
          });
        }
      });
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (status) => { clearTimeout(killer); resolve({ status, stdout, stderr, stoppedDuringCollection }); });
    });
  } finally {
    if (stopping) await stopping;
    else await lab.stop();
  }
}

describe('path when the API server goes away during evidence collection (issue 14, section 0)', () => {
  for (const [label, args, delay] of [
    ['-o json, stopped at once', ['-o', 'json'], 0],
    ['--expect contradicted, stopped after 20 ms', ['-o', 'json', '--expect', 'contradicted'], 20],
    ['table, stopped after 50 ms', [], 50],
  ] as const) {
    it(`never exits 0 without a report: either a report whose exit code the process returns, or exit 3/4 with one line (${label})`, async () => {
      const r = await runStoppingLab([...args], delay);
      expect(r.stderr).toMatch(/\.\.\. collecting evidence from the proxies/);
      if (r.stdout.trim() === '') {
        expect(r.status === 3 || r.status === 4, `exit ${r.status} without a report; stderr:\n${r.stderr}`).toBe(true);
        const lines = r.stderr.split('\n').filter((l) => l.startsWith('mesh-verify: '));
        expect(lines).toHaveLength(1);
      } else {
        if ((args as readonly string[]).includes('json')) expect(r.status).toBe((JSON.parse(r.stdout) as { exitCode: number }).exitCode);
        else expect(r.stdout).toMatch(new RegExp(`^OVERALL: .*\\(exit ${r.status}[;)]`, 'm'));
      }
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }, 90_000);
  }
});

describe('path when an Envoy admin answer is larger than its limit (issue 14, section 2)', () => {
  it('ends the run with exit 4 and one line naming the proxy, the endpoint and the limit', async () => {
    const lab = await startLab({});
    try {
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, 'path', '--kubeconfig', lab.kubeconfigPath, '--no-deploy', '--requests', '2', '-q'], {
          env: { ...process.env, CI: 'true', KUBECONFIG: '', MESH_VERIFY_ADMIN_RESPONSE_MAX_BYTES: '2000' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      expect(r.status).toBe(4);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^mesh-verify: Envoy admin [\w-]+\/[\w-]+:15000 via port-forward: GET \/[\w/_]+: the answer is larger than the limit of 2000 bytes \(ADMIN_RESPONSE_MAX_BYTES\); reading stopped there \(fix: .*MESH_VERIFY_ADMIN_RESPONSE_MAX_BYTES/);
    } finally {
      await lab.stop();
    }
  }, 60_000);
});
