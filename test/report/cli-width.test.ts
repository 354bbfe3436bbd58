import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli-in-process.js';
import { fixturePath, loadFixture, proxy } from '../analyze/fixture-bundles.js';

/** Judge the recording at its own time (the lab's certificates live an hour). */
const RUN_AT = loadFixture('permissive-svc').run.startedAt;

/** The commands pass the terminal width to the tables (issue 9 D6): COLUMNS here, as a terminal sets it. */
describe('mesh-verify analyze fits COLUMNS; -o wide does not wrap', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('COLUMNS=90: every table line within 90 columns, the pod name whole', async () => {
    vi.stubEnv('COLUMNS', '90');
    const r = await runCli('analyze', fixturePath('permissive-svc'), '--now', RUN_AT);
    expect(r.status).toBe(1);
    const lines = r.stdout.split('\n').filter((l) => !l.startsWith('mesh-verify: ') && !l.startsWith('NOTE: '));
    expect(lines.every((l) => l.length <= 90)).toBe(true);
    expect(r.stdout).toContain(`pod mesh-verify/${proxy(loadFixture('permissive-svc'), 'svc').pod.name}`);
  });

  it('-o wide with COLUMNS=90: one line per segment and per finding', async () => {
    vi.stubEnv('COLUMNS', '90');
    const r = await runCli('analyze', fixturePath('permissive-svc'), '--now', RUN_AT, '-o', 'wide');
    expect(r.status).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('bff-sidecar->svc-sidecar '))).toMatch(/CONTRADICTED\s+mTLS\s+mTLS\s+config, traffic, request, identity\s+mTLS for this run's requests .* svc port 8080 is PERMISSIVE$/);
    expect(lines.filter((l) => /^(error|warning) /.test(l))).toHaveLength(2);
  });
});
