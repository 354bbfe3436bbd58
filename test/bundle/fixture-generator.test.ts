import { describe, expect, it } from 'vitest';
import { FIXTURE_RUNS, envoyVersionOf, labDirPattern } from '../../scripts/make-fixture-bundles.js';
import { serializeBundle } from '../../src/bundle/save.js';
import { FIXTURE_NAMES, loadFixture } from '../analyze/fixture-bundles.js';

/**
 * fixtures/bundles/ are recordings of lab runs with real Envoy (npm run fixtures:bundles). Recording
 * needs Envoy and takes a few seconds per fault, so this checks what the recordings are; the
 * verdicts on them are test/analyze/fixture-verdicts.test.ts.
 */
describe('scripts/make-fixture-bundles.ts and its recordings', () => {
  it('records healthy and every lab fault, in the order the tests name them', () => {
    expect(FIXTURE_RUNS.map((r) => r.name)).toEqual([...FIXTURE_NAMES]);
    expect(FIXTURE_RUNS[0].fault).toBeNull();
    for (const r of FIXTURE_RUNS.slice(1)) expect(r.fault).toBe(r.name);
  });

  it.each(FIXTURE_NAMES)('%s says it was recorded from a lab run with real Envoy, the version its proxies report, and is clean', async (name) => {
    const b = loadFixture(name);
    const version = envoyVersionOf(b);
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(b.run.notes[0]).toMatch(new RegExp(`^fixture recorded from a lab run with real Envoy ${version!.replace(/\./g, '\\.')} on \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z by scripts/make-fixture-bundles\\.ts`));
    expect(b.run.target).toMatchObject({ kind: 'lab', simulated: true });
    expect(b.run.fault).toBe(name === 'healthy' ? null : name);
    const { text, redacted } = await serializeBundle(b);
    expect(redacted).toEqual([]);
    // No path of the recording machine: the lab's directories and the Envoy binary are placeholders.
    expect(text).not.toMatch(/"\/(tmp|root|home|work)\//);
    expect(text).not.toMatch(/[\s"(](\/tmp|\/root|\/home|\/work)\//);
    if (b.proxies.some((p) => p.admin.configDump)) expect(text).toContain('<lab-dir>/');
  });

  it('replaces the lab\'s working directories, and only those', () => {
    const re = labDirPattern('/var/tmp');
    expect('"path":"/var/tmp/mesh-verify-lab-envoy-78ZmCS/bff/access.log"'.replace(re, '<lab-dir>')).toBe('"path":"<lab-dir>/bff/access.log"');
    expect('/var/tmp/other/x /var/tmp/mesh-verify-lab-Ab1_/kubeconfig'.replace(re, '<lab-dir>')).toBe('/var/tmp/other/x <lab-dir>/kubeconfig');
  });
});
