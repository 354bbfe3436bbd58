import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCENARIO_NAMES } from '../../src/topology/scenarios.js';
import { ISTIO_ROW_ENV, pinnedVersions } from '../../src/topology/versions.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const workflow = parse(readFileSync(join(ROOT, '.github/workflows/nightly.yml'), 'utf8'));
const SCRIPT = join(ROOT, 'scripts/e2e-kind.sh');
const script = readFileSync(SCRIPT, 'utf8');
const steps: any[] = workflow.jobs['e2e-kind'].steps;
const allSteps: any[] = Object.values(workflow.jobs).flatMap((j: any) => j.steps);
const cleanEnv = () => { const e = { ...process.env }; delete e[ISTIO_ROW_ENV]; return e; };
const runScript = (args: string[], env: Record<string, string> = {}) =>
  execFileSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...cleanEnv(), ...env }, timeout: 10_000 });
const runScriptFull = (args: string[], env: Record<string, string> = {}) =>
  spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...cleanEnv(), ...env }, timeout: 10_000 });

describe('.github/workflows/nightly.yml', () => {
  it('runs nightly and on demand', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    const cron: string = workflow.on.schedule[0].cron;
    expect(cron.split(/\s+/)).toHaveLength(5);
    expect(cron).toMatch(/^\d+ \d+ \* \* \*$/);
  });

  it('pins every action to a version and runs on a Node.js LTS still supported (22 or 24) that the package accepts', () => {
    for (const s of allSteps.filter((x) => x.uses)) expect(s.uses, s.uses).toMatch(/^[\w-]+\/[\w-]+@(v\d+|[0-9a-f]{40})$/);
    const node = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    // Node 20 reached end of life on 2026-04-30 (https://github.com/nodejs/Release); 22 and 24 are LTS.
    expect([22, 24]).toContain(Number(node.with['node-version']));
    const engines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node as string;
    expect(Number(node.with['node-version'])).toBeGreaterThanOrEqual(Number(/^>=(\d+)/.exec(engines)![1]));
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it('is a matrix over the istioMatrix rows of versions.json, read by the script (no version in the workflow)', () => {
    const job = workflow.jobs['e2e-kind'];
    expect(job.needs).toBe('matrix');
    expect(job.strategy['fail-fast']).toBe(false);
    expect(job.strategy.matrix).toBe('${{ fromJSON(needs.matrix.outputs.matrix) }}');
    expect(job.env[ISTIO_ROW_ENV]).toBe('${{ matrix.istio }}');
    const pins = workflow.jobs.matrix.steps.find((s: any) => s.id === 'pins');
    expect(pins.run).toBe('echo "matrix=$(scripts/e2e-kind.sh matrix)" >> "$GITHUB_OUTPUT"');
    expect(workflow.jobs.matrix.outputs.matrix).toBe('${{ steps.pins.outputs.matrix }}');
    const text = readFileSync(join(ROOT, '.github/workflows/nightly.yml'), 'utf8');
    for (const r of pinnedVersions().istioMatrix) expect(text).not.toContain(r.istio);
  });

  it('calls only scripts that exist, are executable, and know the subcommand', () => {
    const calls = allSteps.filter((s) => s.run).flatMap((s) => [...String(s.run).matchAll(/(scripts\/[\w.-]+)\s+([\w-]+)/g)]);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    for (const [, file, sub] of calls) {
      expect(() => accessSync(join(ROOT, file), constants.X_OK), file).not.toThrow();
      expect(readFileSync(join(ROOT, file), 'utf8')).toContain(`\n  ${sub}) cmd_`);
    }
    execFileSync('bash', ['-n', SCRIPT]);
  });

  it('installs the tools, runs, keeps logs on failure, then always publishes the summary, uploads the reports and deletes the cluster', () => {
    const order = steps.map((s) => s.run ?? s.uses);
    const idx = (needle: string) => order.findIndex((x) => String(x).includes(needle));
    expect(idx('npm ci')).toBeLessThan(idx('install-tools'));
    expect(idx('install-tools')).toBeLessThan(idx('e2e-kind.sh run'));
    // kind export logs / kubectl describe must run before the cluster is deleted and before the upload.
    expect(idx('e2e-kind.sh run')).toBeLessThan(idx('collect-logs'));
    expect(steps[idx('collect-logs')].if).toBe('failure()');
    expect(idx('collect-logs')).toBeLessThan(idx('actions/upload-artifact@'));
    expect(idx('actions/upload-artifact@')).toBeLessThan(idx('e2e-kind.sh down'));
    expect(idx('e2e-kind.sh run')).toBeLessThan(idx('summary'));
    const summary = steps[idx('summary')];
    expect(summary.run).toContain('>> "$GITHUB_STEP_SUMMARY"');
    const upload = steps[idx('actions/upload-artifact@')];
    expect(upload.with.path).toBe('e2e-reports/');
    expect(upload.with.name).toContain('${{ matrix.version }}');
    expect(workflow.jobs['e2e-kind'].env.REPORT_ROOT).toBe('${{ github.workspace }}/e2e-reports');
    for (const s of [summary, upload, steps[idx('e2e-kind.sh down')]]) expect(s.if).toBe('always()');
  });
});

describe('nightly diff against the previous night', () => {
  it('finds the previous run, downloads its artifact for the same Istio row, then diffs (all after the run, before the upload)', () => {
    const order = steps.map((s) => s.run ?? s.uses);
    const idx = (needle: string) => order.findIndex((x) => String(x).includes(needle));
    const find = steps[idx('gh run list')];
    expect(find.id).toBe('previous');
    expect(find.run).toContain('--workflow nightly.yml');
    expect(find.env.GH_TOKEN).toBe('${{ github.token }}');
    const download = steps[idx('actions/download-artifact@')];
    expect(download.with.name).toBe(steps[idx('actions/upload-artifact@')].with.name);
    expect(download.with['run-id']).toBe('${{ steps.previous.outputs.run-id }}');
    expect(download.if).toContain("steps.previous.outputs.run-id != ''");
    expect(download['continue-on-error']).toBe(true);
    expect(workflow.jobs['e2e-kind'].env.PREVIOUS_ROOT).toBe('${{ github.workspace }}/' + download.with.path.replace(/\/$/, ''));
    expect(workflow.jobs['e2e-kind'].permissions).toEqual({ contents: 'read', actions: 'read' });
    const diff = idx('e2e-kind.sh diff-previous');
    expect(idx('e2e-kind.sh run')).toBeLessThan(idx('gh run list'));
    expect(idx('gh run list')).toBeLessThan(idx('actions/download-artifact@'));
    expect(idx('actions/download-artifact@')).toBeLessThan(diff);
    expect(diff).toBeLessThan(idx('summary'));
    expect(diff).toBeLessThan(idx('actions/upload-artifact@'));
  });

  it('diff-previous says it skipped when there is no previous bundle (exit 0)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-verify-prev-'));
    try {
      const r = runScriptFull(['diff-previous'], { REPORT_ROOT: join(dir, 'now'), PREVIOUS_ROOT: join(dir, 'prev') });
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`no previous night's bundle (${join(dir, 'prev')}/healthy/bundle.json): diff skipped\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const BUILT = existsSync(join(ROOT, 'dist/cli/commands/diff.js'));
  it.skipIf(!BUILT)(`diff-previous compares the two healthy bundles: exit 1 and a Markdown report when something regressed${BUILT ? '' : ' (skipped: dist/ not built; npm test builds it)'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-verify-prev-'));
    try {
      const env = { REPORT_ROOT: join(dir, 'now'), PREVIOUS_ROOT: join(dir, 'prev') };
      for (const [root, name] of [[env.PREVIOUS_ROOT, 'healthy'], [env.REPORT_ROOT, 'healthy']]) {
        mkdirSync(join(root, 'healthy'), { recursive: true });
        writeFileSync(join(root, 'healthy', 'bundle.json'), readFileSync(join(ROOT, `fixtures/bundles/${name}.bundle.json`)));
      }
      const same = spawnSync('bash', [SCRIPT, 'diff-previous'], { encoding: 'utf8', env: { ...cleanEnv(), ...env }, timeout: 30_000 });
      expect(same.status).toBe(0);
      expect(same.stdout).toContain('mesh-verify diff: no change in 7 segments (exit 0)');
      writeFileSync(join(env.REPORT_ROOT, 'healthy', 'bundle.json'), readFileSync(join(ROOT, 'fixtures/bundles/permissive-svc.bundle.json')));
      const worse = spawnSync('bash', [SCRIPT, 'diff-previous'], { encoding: 'utf8', env: { ...cleanEnv(), ...env }, timeout: 30_000 });
      expect(worse.status).toBe(1);
      expect(worse.stdout).toContain('REGRESSED  bff-sidecar->svc-sidecar  status: proven -> contradicted');
      expect(readFileSync(join(env.REPORT_ROOT, 'diff-previous', 'report.md'), 'utf8')).toContain('## mesh-verify diff: ❌');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('scripts/e2e-kind.sh', () => {
  it('takes the pinned versions from fixtures/istio/versions.json, nowhere else, as pinnedVersions() does', () => {
    const v = pinnedVersions({});
    expect(runScript(['versions'])).toBe(`istio=${v.istio}\nkind=${v.kind}\nkindNodeImage=${v.kindNodeImage}\n`);
    for (const r of v.istioMatrix) {
      const row = pinnedVersions({ [ISTIO_ROW_ENV]: r.minor });
      expect(row.istio).toBe(r.istio);
      expect(runScript(['versions'], { [ISTIO_ROW_ENV]: r.minor })).toBe(`istio=${r.istio}\nkind=${v.kind}\nkindNodeImage=${r.kindNodeImage}\n`);
      expect(script).not.toContain(r.istio);
    }
    expect(script).not.toContain(v.kind);
    // The release assets themselves (checked against a pinned sum), not the piped downloadIstioctl installer.
    expect(script).toContain('https://github.com/kubernetes-sigs/kind/releases/download/${kind}/kind-linux-${arch}');
    expect(script).toContain('https://github.com/istio/istio/releases/download/${istio}/istio-${istio}-linux-${arch}.tar.gz');
    expect(script).not.toContain('| sh');
  });

  it('an unknown row is exit 2 in the script and a usage error in pinnedVersions()', () => {
    const r = runScriptFull(['versions'], { [ISTIO_ROW_ENV]: '1.2' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('MESH_VERIFY_ISTIO=1.2 is not a row');
    expect(() => pinnedVersions({ [ISTIO_ROW_ENV]: '1.2' })).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it('matrix: one job per row with a pinned linux-amd64 sum; the others are announced as warnings', () => {
    const r = runScriptFull(['matrix']);
    expect(r.status).toBe(0);
    const rows = pinnedVersions({}).istioMatrix;
    const pinned = rows.filter((x) => x.istioSha256['linux-amd64']);
    expect(JSON.parse(r.stdout)).toEqual({ include: pinned.map((x) => ({ istio: x.minor, version: x.istio })) });
    expect(pinned.map((x) => x.istio)).toContain(pinnedVersions({}).istio);
    for (const x of rows.filter((y) => !y.istioSha256['linux-amd64'])) expect(r.stderr).toContain(`::warning::Istio ${x.istio} (supported) is not run`);
  });

  const unpinned = pinnedVersions({}).istioMatrix.find((x) => !x.istioSha256['linux-amd64']);
  it.skipIf(!unpinned)(`install-tools refuses, before any download, a version without a published sha256 (exit 4)${unpinned ? '' : ' (skipped: every row is pinned)'}`, () => {
    const tools = mkdtempSync(join(tmpdir(), 'mesh-verify-tools-'));
    try {
      const r = runScriptFull(['install-tools'], { [ISTIO_ROW_ENV]: unpinned!.minor, TOOLS_BIN: tools });
      expect(r.status).toBe(4);
      expect(r.stderr).toContain(`no published sha256 pinned for istio ${unpinned!.istio}`);
      expect(readdirSync(tools)).toEqual([]);
    } finally {
      rmSync(tools, { recursive: true, force: true });
    }
  });

  it('verify: the pinned sum passes, any other is exit 4 and the file is removed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-verify-sum-'));
    try {
      const f = join(dir, 'kind');
      writeFileSync(f, 'abc');
      // sha256("abc"), FIPS 180-2 appendix B.1.
      const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
      expect(runScriptFull(['verify', f, abc]).status).toBe(0);
      const bad = runScriptFull(['verify', f, '0'.repeat(64)]);
      expect(bad.status).toBe(4);
      expect(bad.stderr).toContain(`sha256 mismatch for kind: got ${abc}`);
      expect(() => accessSync(f)).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('collect-logs keeps kind export logs and kubectl describe of the path namespaces', () => {
    expect(script).toContain('kind export logs "$out/kind-logs" --name "$KIND_CLUSTER"');
    expect(script).toMatch(/kubectl --context "kind-\$KIND_CLUSTER" describe pods,deployments,services/);
    expect(/DESCRIBE_NAMESPACES=\(([^)]*)\)/.exec(script)![1].trim().split(/\s+/)).toEqual(['mesh-verify', 'istio-system']);
    expect(script).toContain('out="$REPORT_ROOT/diagnostics"');
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
