import { describe, expect, it } from 'vitest';
import { generateFixtureBundles } from '../../scripts/make-fixture-bundles.js';
import { serializeBundle } from '../../src/bundle/save.js';
import { FIXTURE_NAMES, analyzeAtRun, loadFixture, statuses } from '../analyze/fixture-bundles.js';

describe('scripts/make-fixture-bundles.ts', () => {
  it('regenerates every committed fixture with the same verdicts and findings, valid and small', async () => {
    const generated = await generateFixtureBundles();
    expect([...generated.keys()]).toEqual([...FIXTURE_NAMES]);
    for (const name of FIXTURE_NAMES) {
      const fresh = generated.get(name);
      if (!fresh) throw new Error(`not generated: ${name}`);
      const { text, redacted } = await serializeBundle(fresh);
      expect(redacted).toEqual([]);
      expect(Buffer.byteLength(text)).toBeLessThan(200 * 1024);
      const now = analyzeAtRun(fresh);
      const committed = analyzeAtRun(loadFixture(name));
      expect(statuses(now)).toEqual(statuses(committed));
      expect(now.findings.map((f) => f.code)).toEqual(committed.findings.map((f) => f.code));
      expect(fresh.run.target.kind).toBe('fixture');
    }
  });
});
