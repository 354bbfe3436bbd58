import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type StartedLab } from '../../src/lab/lab.js';
import { runCli } from '../helpers/cli-in-process.js';

/**
 * Issue 14, section 2: an Envoy admin answer larger than ADMIN_RESPONSE_MAX_BYTES ends the audit
 * with exit 4 and one line naming the proxy, the endpoint and the limit (it used to read any
 * body whole). The limit is lowered through its MESH_VERIFY_ variable (src/cluster/limits.ts).
 */
describe('audit when a proxy answers more than ADMIN_RESPONSE_MAX_BYTES', () => {
  let lab: StartedLab;
  beforeAll(async () => { lab = await startLab({}); }, 60_000);
  afterAll(async () => { await lab?.stop(); });
  afterEach(() => { delete process.env.MESH_VERIFY_ADMIN_RESPONSE_MAX_BYTES; });

  it('is exit 4 with one line naming the endpoint and the limit, not an unreadable proxy', async () => {
    const ok = await runCli('audit', '--kubeconfig', lab.kubeconfigPath, '-o', 'json', '-q');
    expect(ok.status).not.toBe(4);
    process.env.MESH_VERIFY_ADMIN_RESPONSE_MAX_BYTES = '300';
    const r = await runCli('audit', '--kubeconfig', lab.kubeconfigPath, '-o', 'json', '-q');
    expect(r.status).toBe(4);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mesh-verify: Envoy admin [\w-]+\/[\w-]+:15000 via port-forward: GET \/\w+: the answer is larger than the limit of 300 bytes \(ADMIN_RESPONSE_MAX_BYTES\); reading stopped there \(fix: /);
  }, 60_000);
});
