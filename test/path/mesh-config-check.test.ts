import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { meshConfigGaps } from '../../src/path/mesh-config-check.js';
import { labMeshConfigYaml } from '../../src/lab/istio-install.js';
import { readFixture } from '../../src/topology/fixture-files.js';

describe('meshConfigGaps (what a reused Istio will not produce)', () => {
  it('finds nothing missing in the mesh config mesh-verify installs', () => {
    const operator = parse(readFixture('istio', 'istio-operator.yaml')) as { spec: { meshConfig: unknown } };
    expect(meshConfigGaps(operator.spec.meshConfig)).toEqual([]);
  });

  it("names the missing access logs and ssl stats of Istio's defaults", () => {
    const gaps = meshConfigGaps(parse('defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n'));
    expect(gaps).toHaveLength(2);
    expect(gaps[0]).toContain('access logging is off');
    expect(gaps[1]).toContain('proxyStatsMatcher does not include ssl');
  });

  it('tells TEXT access logs and a JSON format without the TLS fields apart', () => {
    expect(meshConfigGaps({ accessLogFile: '/dev/stdout' })[0]).toContain('not JSON');
    const thin = meshConfigGaps({ accessLogFile: '/dev/stdout', accessLogEncoding: 'JSON', accessLogFormat: '{"request_id":"%REQ(X-REQUEST-ID)%"}' });
    expect(thin[0]).toContain('%DOWNSTREAM_PEER_URI_SAN%');
  });

  it('the lab stores the same mesh config, without ssl stats under stats-filtered', () => {
    expect(meshConfigGaps(parse(labMeshConfigYaml()))).toEqual([]);
    expect(meshConfigGaps(parse(labMeshConfigYaml({ includeSslStats: false })))).toEqual([
      "proxyStatsMatcher does not include ssl.* stats (Istio's default): no handshake counters as traffic evidence",
    ]);
  });
});
