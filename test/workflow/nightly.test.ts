import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCENARIO_NAMES } from '../../src/topology/scenarios.js';
import { pinnedVersions } from '../../src/topology/versions.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const workflow = parse(readFileSync(join(ROOT, '.github/workflows/nightly.yml'), 'utf8'));
const SCRIPT = join(ROOT, 'scripts/e2e-kind.sh');
const script = readFileSync(SCRIPT, 'utf8');
const steps: any[] = workflow.jobs['e2e-kind'].steps;
const runScript = (args: string[], env: Record<string, string> = {}) =>
  execFileSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 10_000 });

describe('.github/workflows/nightly.yml', () => {
  it('runs nightly and on demand', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    const cron: string = workflow.on.schedule[0].cron;
    expect(cron.split(/\s+/)).toHaveLength(5);
    expect(cron).toMatch(/^\d+ \d+ \* \* \*$/);
  });

  it('pins every action to a version and uses the Node version the package supports', () => {
    for (const s of steps.filter((x) => x.uses)) expect(s.uses, s.uses).toMatch(/^[\w-]+\/[\w-]+@(v\d+|[0-9a-f]{40})$/);
    const node = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    const engines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node as string;
    expect(engines).toBe(`>=${node.with['node-version']}`);
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it('calls only scripts that exist, are executable, and know the subcommand', () => {
    const calls = steps.filter((s) => s.run).flatMap((s) => [...String(s.run).matchAll(/(scripts\/[\w.-]+)\s+([\w-]+)/g)]);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    for (const [, file, sub] of calls) {
      expect(() => accessSync(join(ROOT, file), constants.X_OK), file).not.toThrow();
      expect(readFileSync(join(ROOT, file), 'utf8')).toContain(`\n  ${sub}) cmd_`);
    }
    execFileSync('bash', ['-n', SCRIPT]);
  });

  it('installs the tools, runs, then always publishes the summary, uploads the reports and deletes the cluster', () => {
    const order = steps.map((s) => s.run ?? s.uses);
    const idx = (needle: string) => order.findIndex((x) => String(x).includes(needle));
    expect(idx('npm ci')).toBeLessThan(idx('install-tools'));
    expect(idx('install-tools')).toBeLessThan(idx('e2e-kind.sh run'));
    expect(idx('e2e-kind.sh run')).toBeLessThan(idx('summary'));
    const summary = steps[idx('summary')];
    expect(summary.run).toContain('>> "$GITHUB_STEP_SUMMARY"');
    const upload = steps[idx('actions/upload-artifact@')];
    expect(upload.with.path).toBe('e2e-reports/');
    expect(workflow.jobs['e2e-kind'].env.REPORT_ROOT).toBe('${{ github.workspace }}/e2e-reports');
    for (const s of [summary, upload, steps[idx('e2e-kind.sh down')]]) expect(s.if).toBe('always()');
  });
});

describe('scripts/e2e-kind.sh', () => {
  it('takes the pinned versions from fixtures/istio/versions.json, nowhere else', () => {
    const v = pinnedVersions();
    expect(runScript(['versions'])).toBe(`istio=${v.istio}\nkind=${v.kind}\nkindNodeImage=${v.kindNodeImage}\n`);
    expect(script).not.toContain(v.istio);
    expect(script).not.toContain(v.kind);
    expect(script).toContain('https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-${arch}');
    expect(script).toContain('ISTIO_VERSION="$ISTIO_VERSION" sh -');
  });

  it('runs the healthy path, then every scenario with --expect contradicted', () => {
    expect(script).toContain('mesh_verify path --keep --report-dir "$REPORT_ROOT/healthy"');
    const listed = /SCENARIOS=\(([^)]*)\)/.exec(script)![1].trim().split(/\s+/);
    expect([...listed].sort()).toEqual([...SCENARIO_NAMES].sort());
    expect(script).toContain('mesh_verify path --keep --scenario "$s" --expect contradicted --report-dir "$REPORT_ROOT/$s"');
  });

  it('summary prints each Markdown report under its run name, or says there is none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-verify-workflow-'));
    try {
      expect(runScript(['summary'], { REPORT_ROOT: dir })).toBe('No mesh-verify report was written (see the job log).\n');
      mkdirSync(join(dir, 'healthy'));
      writeFileSync(join(dir, 'healthy', 'report.md'), '# proven\n');
      mkdirSync(join(dir, 'dr-disable'));
      writeFileSync(join(dir, 'dr-disable', 'report.md'), '# contradicted\n');
      const out = runScript(['summary'], { REPORT_ROOT: dir });
      expect(out).toContain('\n## healthy\n\n# proven\n');
      expect(out).toContain('\n## dr-disable\n\n# contradicted\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown subcommand with exit 2', () => {
    expect(() => runScript(['bogus'])).toThrow(expect.objectContaining({ status: 2 }));
  });
});
