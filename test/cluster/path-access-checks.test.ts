import { describe, expect, it } from 'vitest';
import { pathAccessChecks } from '../../src/cluster/preflight.js';

describe('pathAccessChecks', () => {
  it('asks for delete on every kind a deploy writes when the run will clean up, and not otherwise', () => {
    const key = (c: { verb: string; group?: string; resource: string; namespace?: string }) =>
      `${c.verb} ${c.group ?? ''}/${c.resource} ${c.namespace ?? '*'}`;
    const keep = pathAccessChecks({ deploy: true }).map(key);
    const clean = pathAccessChecks({ deploy: true, cleanup: true }).map(key);
    expect(keep.some((k) => k.startsWith('delete '))).toBe(false);
    for (const k of ['delete apps/deployments mesh-verify', 'delete /namespaces *', 'delete /secrets istio-system',
      'delete networking.istio.io/destinationrules mesh-verify', 'delete security.istio.io/peerauthentications mesh-verify']) {
      expect(clean).toContain(k);
    }
  });
});
