import { describe, expect, it } from 'vitest';
import { ConfigDumpNotFound, ConfigDumpQueryError, queryConfigDump } from '../../../src/lab/dataplane/config-dump-query.js';

const T = (t: string) => `type.googleapis.com/envoy.admin.v3.${t}`;
const dump = {
  configs: [
    { '@type': T('BootstrapConfigDump'), bootstrap: { node: { id: 'sidecar~1.2.3.4~p.ns~ns.svc.cluster.local' } } },
    { '@type': T('ClustersConfigDump'), version_info: 'v1', dynamic_active_clusters: [{ cluster: { name: 'a' } }, { cluster: { name: 'b' } }] },
    { '@type': T('SecretsConfigDump'), dynamic_active_secrets: [{ name: 'default' }] },
  ],
};
const q = (query: string) => queryConfigDump(dump, new URLSearchParams(query));

describe("the lab's /config_dump query follows Envoy's rules", () => {
  it('mask keeps only the dumps whose type has the masked fields', () => {
    const r = q('mask=dynamic_active_secrets');
    expect(r.configs.map((c) => c['@type'])).toEqual([T('SecretsConfigDump')]);
  });

  it('a mask that fits no dump is refused (400)', () => {
    expect(() => q('mask=no_such_field')).toThrow(ConfigDumpQueryError);
    expect(() => q('mask=no_such_field')).toThrow(/could not be successfully applied to any configs/);
  });

  it('resource lists a repeated field; unknown fields are 404, non-repeated ones 400', () => {
    expect(q('resource=dynamic_active_clusters&mask=cluster.name').configs).toHaveLength(2);
    expect(() => q('resource=no_such_field')).toThrow(ConfigDumpNotFound);
    expect(() => q('resource=version_info')).toThrow(/is not a repeated field/);
  });
});
