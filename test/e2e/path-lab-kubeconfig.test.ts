import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab } from '../../src/lab/lab.js';
import { runCli } from '../helpers/cli-in-process.js';

describe('path --kubeconfig against a running lab (what `lab up` suggests)', () => {
  it('is recognised as the lab from its API server version and says so; --entry reaches the NLB', async () => {
    const lab = await startLab({});
    try {
      const r = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--entry', `${lab.nlb.host}:${lab.nlb.port}`,
        '--no-deploy', '--requests', '3', '-o', 'json', '-q');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const report = JSON.parse(r.stdout) as { overall: string; target: { kind: string; simulated: boolean; description: string } };
      expect(report.overall).toBe('proven');
      expect(report.target).toMatchObject({ kind: 'lab', simulated: true });
      expect(report.target.description).toContain('SIMULATION');
    } finally {
      await lab.stop();
    }
  });

  it("warns, and notes in the bundle, what a reused Istio's mesh config will not produce", async () => {
    const lab = await startLab({ fault: 'stats-filtered' });
    try {
      const dir = await mkdtemp(join(tmpdir(), 'mv-mesh-notes-'));
      const bundleFile = join(dir, 'bundle.json');
      const r = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--entry', `${lab.nlb.host}:${lab.nlb.port}`,
        '--no-deploy', '--requests', '2', '-o', 'json', '--bundle', bundleFile);
      expect(r.stderr).toContain('reused Istio: proxyStatsMatcher does not include ssl.* stats');
      expect(r.stderr).not.toContain('access logging is off');
      const bundle = JSON.parse(await readFile(bundleFile, 'utf8')) as { run: { notes: string[] } };
      expect(bundle.run.notes.join('\n')).toContain('proxyStatsMatcher does not include ssl.* stats');
      await rm(dir, { recursive: true, force: true });
    } finally {
      await lab.stop();
    }
  });

  it('--verbose lists every evidence item behind each verdict, as analyze --verbose does', async () => {
    const r = await runCli('--verbose', 'path', '--lab', '--requests', '2', '-q');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('EVIDENCE gateway->bff-sidecar (PROVEN');
    expect(r.stdout).toMatch(/config\s+gateway config_dump: cluster outbound\|8080\|\|bff\.mesh-verify\.svc\.cluster\.local/);
  });

  it('rejects a malformed --entry as a usage error', async () => {
    const r = await runCli('path', '--kubeconfig', 'whatever', '--entry', 'no-port');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--entry must be HOST:PORT');
  });
});
