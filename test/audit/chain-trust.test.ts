import { describe, expect, it } from 'vitest';
import { chainsTo } from '../../src/envoy/certificate.js';
import { createChainTrust } from '../../src/analyze/audit/chain-trust.js';
import { BoundedMap } from '../../src/util/bounded-map.js';
import { createIntermediateCa, createRootCa, issueCertificate } from '../../src/pki/ca.js';

describe('createChainTrust (chainsTo with decodes shared across chains)', () => {
  it('answers as chainsTo does, on first and repeated calls', async () => {
    const root = await createRootCa('trust test root');
    const oldRoot = await createRootCa('trust test old root');
    const intermediate = await createIntermediateCa(root, 'trust test intermediate');
    const spiffe = (sa: string) => ({ uriSans: [`spiffe://cluster.local/ns/a/sa/${sa}`] });
    const viaIntermediate = (await issueCertificate(intermediate, spiffe('one'))).certPem + intermediate.chainPem;
    const viaIntermediate2 = (await issueCertificate(intermediate, spiffe('two'))).certPem + intermediate.chainPem;
    const leafOnly = (await issueCertificate(intermediate, spiffe('three'))).certPem;
    const fromOldRoot = (await issueCertificate(oldRoot, spiffe('four'))).certPem;
    const fromRoot = (await issueCertificate(root, spiffe('five'))).certPem + root.certPem;
    const chains = [viaIntermediate, viaIntermediate2, leafOnly, fromOldRoot, fromRoot, 'not a certificate', ''];
    const rootSets = [[root.certPem], [oldRoot.certPem], [root.certPem, oldRoot.certPem], []];
    const seen: boolean[] = [];
    for (const roots of rootSets) {
      const trust = createChainTrust(roots);
      for (let pass = 0; pass < 2; pass++) {
        for (const chain of chains) {
          const want = chainsTo(chain, roots);
          expect(trust(chain), `roots ${rootSets.indexOf(roots)}, chain ${chains.indexOf(chain)}, pass ${pass}`).toBe(want);
          seen.push(want);
        }
      }
    }
    // Both answers occur, so agreement is not trivial.
    expect(seen).toContain(true);
    expect(seen).toContain(false);
    expect(createChainTrust([root.certPem])(viaIntermediate)).toBe(true);
    expect(createChainTrust([root.certPem])(fromOldRoot)).toBe(false);
  });
});

describe('BoundedMap', () => {
  it('keeps at most its limit, dropping the oldest insertion; updates do not evict', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1).set('b', 2);
    m.set('a', 10);
    expect([...m]).toEqual([['a', 10], ['b', 2]]);
    m.set('c', 3);
    expect([...m.keys()]).toEqual(['b', 'c']);
    expect(m.size).toBe(2);
    expect(m.get('a')).toBeUndefined();
  });
});
