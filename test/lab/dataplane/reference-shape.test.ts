import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectConfigDump } from '../../../src/envoy/index.js';
import { meshStateForFault, startDataPlane, type DataPlane } from '../../../src/lab/dataplane/index.js';
import { HAVE_REFERENCE, SKIP_REASON, readReferenceJson } from '../../helpers/reference.js';
import { admin, pod } from './client.js';

type Json = any;

/** Every key path of a JSON value (arrays: the paths of their first element). */
function keyPaths(v: Json, prefix = ''): string[] {
  if (Array.isArray(v)) return v.length && typeof v[0] === 'object' ? keyPaths(v[0], `${prefix}[].`) : [];
  if (!v || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [prefix + k, ...keyPaths(x, `${prefix}${k}.`)]);
}

const REAL_SIDECAR = 'envoy/istio-1.22.3-sidecar-app1-config_dump.json';
const section = (dump: Json, type: string): Json => dump.configs.find((c: Json) => c['@type'].endsWith(type));

describe.skipIf(!HAVE_REFERENCE)(`lab config dumps have the shape of a real Istio 1.22 sidecar dump${HAVE_REFERENCE ? '' : ` (${SKIP_REASON})`}`, () => {
  let plane: DataPlane;
  let lab: Json;
  let real: Json;
  beforeAll(async () => {
    plane = await startDataPlane({ state: meshStateForFault('permissive-svc') });
    lab = JSON.parse(await admin(pod(plane, 'svc'), '/config_dump'));
    real = readReferenceJson(REAL_SIDECAR);
  });
  afterAll(async () => plane?.stop());

  it('sections come in Envoy\'s order', () => {
    const order = (d: Json) => d.configs.map((c: Json) => c['@type'].split('.').pop()).filter((t: string) => t !== 'EcdsConfigDump');
    expect(order(lab)).toEqual(order(real));
  });

  it('the tlsMode-istio upstream context has exactly the real key paths', () => {
    const match = (d: Json) => section(d, 'ClustersConfigDump').dynamic_active_clusters.find((c: Json) => c.cluster.name.startsWith('outbound|') && c.cluster.transport_socket_matches).cluster.transport_socket_matches;
    expect(keyPaths(match(lab)[0]).sort()).toEqual(keyPaths(match(real)[0]).sort());
    expect(match(lab)[1]).toEqual(match(real)[1]);
  });

  it('the inbound mTLS chain\'s DownstreamTlsContext has exactly the real key paths', () => {
    const chain = (d: Json) => section(d, 'ListenersConfigDump').dynamic_listeners.find((l: Json) => l.name === 'virtualInbound').active_state.listener.filter_chains.find((c: Json) => c.filter_chain_match?.destination_port && c.transport_socket);
    expect(keyPaths(chain(lab).transport_socket).sort()).toEqual(keyPaths(chain(real).transport_socket).sort());
    expect(chain(lab).filter_chain_match).toEqual({ ...chain(real).filter_chain_match, destination_port: 8080 });
  });

  it('the default stats inclusion list is the real one', async () => {
    const filtered = await startDataPlane({ state: meshStateForFault('stats-filtered') });
    try {
      const dump = JSON.parse(await admin(pod(filtered, 'bff'), '/config_dump?mask=bootstrap.stats_config.stats_matcher'));
      expect(dump.configs[0].bootstrap.stats_config.stats_matcher).toEqual(section(real, 'BootstrapConfigDump').bootstrap.stats_config.stats_matcher);
    } finally {
      await filtered.stop();
    }
  });

  it('secrets and node metadata carry the real keys', () => {
    const secretKeys = (d: Json) => new Set(keyPaths(section(d, 'SecretsConfigDump').dynamic_active_secrets[0]));
    for (const k of secretKeys(real)) expect(secretKeys(lab).has(k), k).toBe(true);
    const meta = (d: Json) => Object.keys(section(d, 'BootstrapConfigDump').bootstrap.node.metadata);
    for (const k of ['ISTIO_VERSION', 'LABELS', 'NAMESPACE', 'SERVICE_ACCOUNT', 'NAME', 'WORKLOAD_NAME', 'INSTANCE_IPS', 'CLUSTER_ID', 'MESH_ID']) {
      expect(meta(real)).toContain(k);
      expect(meta(lab)).toContain(k);
    }
  });

  it('the project parser reads the lab and the real PERMISSIVE dumps alike', () => {
    const modes = (d: Json) => new Set(inspectConfigDump(d).inbound.filter((m) => m.inEffect).map((m) => m.mode));
    expect(modes(real)).toEqual(new Set(['PERMISSIVE']));
    expect(modes(lab)).toEqual(new Set(['PERMISSIVE']));
    expect(inspectConfigDump(lab).inbound.map((m) => m.port)).toContain(8080);
  });
});
