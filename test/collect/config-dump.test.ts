import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchConfigDump, type AdminFetch } from '../../src/collect/config-dump.js';
import { CONFIG_DUMP_SECTIONS, FULL_CONFIG_DUMP_PATH, configDumpPath } from '../../src/collect/admin-endpoints.js';
import { describeNode } from '../../src/envoy/node-info.js';
import { realEnvoyPath, requireEnvoyInCi } from '../helpers/real-envoy.js';
import { startIstioSidecar, type IstioSidecar } from '../helpers/istio-sidecar.js';

/**
 * fetchConfigDump against a REAL Envoy (the pinned release) configured as the lab's bff sidecar:
 * its FieldMask handling, include_eds and its refusals are Envoy's own answers. Proxies that
 * behave unlike this Envoy (one that ignores `mask`, one that refuses it, one that resets or
 * answers garbage) are small wrappers named for that behaviour around the real answers.
 */
const envoy = realEnvoyPath();
requireEnvoyInCi(envoy);

const now = () => new Date('2026-01-01T00:00:00Z');
const types = (body: string | undefined) => (JSON.parse(body ?? '{}').configs as { '@type': string }[]).map((c) => c['@type'].split('.').pop());
const SECTIONS = ['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'SecretsConfigDump'];

let sidecar: IstioSidecar;
/** Envoy's answer to a path, as the collector's getters return it (status and body, never a throw on 4xx). */
let real: AdminFetch;
beforeAll(async () => {
  if (!envoy.path) return;
  // The SDS key as the lab's generator writes it (inline_string); collector.test.ts uses istio-agent's inline_bytes.
  sidecar = await startIstioSidecar(envoy.path, { keyForm: 'inline_string' });
  real = (path) => sidecar.adminRequest(path);
}, 60_000);
afterAll(async () => { await sidecar?.stop(); });

describe.skipIf(!envoy.path)(`fetchConfigDump over a real Envoy admin API ${envoy.reason}`, () => {
  it("reads the needed sections, one masked request per dump type, from Envoy's answers", async () => {
    const asked: string[] = [];
    const r = await fetchConfigDump((path) => { asked.push(path); return real(path); }, now);
    expect(r.errors).toEqual([]);
    expect(asked.sort()).toEqual(CONFIG_DUMP_SECTIONS.map(configDumpPath).sort());
    expect(types(r.text?.body)).toEqual(SECTIONS);
    const doc = JSON.parse(r.text?.body ?? '{}');
    const listeners = doc.configs.find((c: { '@type': string }) => c['@type'].endsWith('ListenersConfigDump'));
    expect(listeners.dynamic_listeners.map((l: { name: string }) => l.name)).toEqual(expect.arrayContaining(['virtualInbound', 'virtualOutbound']));
    // Only the masked fields: no last_updated of the bootstrap, no routes at all.
    expect(Object.keys(doc.configs[0])).toEqual(['@type', 'bootstrap']);
    expect(Object.keys(doc.configs[0].bootstrap)).toEqual(['node']);
    const full = (await real(FULL_CONFIG_DUMP_PATH)).body;
    expect(types(full)).toContain('RoutesConfigDump');
    expect(r.text!.body.length).toBeLessThan(JSON.stringify(JSON.parse(full)).length);
  });

  it("keeps of the bootstrap node what the analyzer reads, not Envoy's list of its extensions", async () => {
    // Envoy 1.38.3's node.extensions lists every compiled-in extension: ~70 KB, two thirds of the
    // saved dump with `mask=bootstrap.node`; src/envoy/node-info.ts reads id, metadata and the version.
    const whole = JSON.parse((await real('/config_dump?mask=bootstrap.node')).body).configs[0].bootstrap.node;
    expect(JSON.stringify(whole.extensions).length).toBeGreaterThan(20_000);
    const r = await fetchConfigDump(real, now);
    const bootstrap = JSON.parse(r.text?.body ?? '{}').configs[0].bootstrap;
    expect(Object.keys(bootstrap.node).sort()).toEqual(['cluster', 'id', 'metadata', 'user_agent_build_version']);
    expect(describeNode(bootstrap)).toEqual(describeNode({ node: whole }));
    expect(describeNode(bootstrap)).toMatchObject({ type: 'sidecar', envoyVersion: '1.38.3', namespace: 'mesh-verify' });
    expect(r.text!.body.length).toBeLessThan(60_000);
  });

  it("keeps Envoy's own redaction of an inline_string SDS key and never the key", async () => {
    const r = await fetchConfigDump(real, now);
    const secrets = JSON.parse(r.text?.body ?? '{}').configs[4];
    const secret = secrets.dynamic_active_secrets.find((x: { name: string }) => x.name === 'default').secret;
    expect(secret.tls_certificate.private_key).toEqual({ inline_string: '[redacted]' });
    expect(secret.tls_certificate.certificate_chain.inline_string).toContain('BEGIN CERTIFICATE');
    for (const line of sidecar.keyPem.split('\n').filter((l) => l && !l.startsWith('-----'))) expect(r.text?.body).not.toContain(line);
  });

  it('Envoy refuses a mask that fits no dump, and the endpoints mask without include_eds: why each section is its own request', async () => {
    // Real answers (Envoy 1.38.3, source/server/admin/config_dump_handler.cc): HTTP 400 and this text.
    const mixed = await real('/config_dump?mask=bootstrap.node,dynamic_listeners');
    expect(mixed).toEqual({ status: 400, body: 'FieldMask bootstrap.node,dynamic_listeners could not be successfully applied to any configs.' });
    const noEds = await real('/config_dump?mask=static_endpoint_configs,dynamic_endpoint_configs');
    expect(noEds.status).toBe(400);
    expect(noEds.body).toMatch(/^FieldMask static_endpoint_configs,dynamic_endpoint_configs could not be successfully applied to any configs\./);
    // include_eds is a presence flag: `include_eds=false` still includes the endpoints.
    expect(types((await real('/config_dump?include_eds=false')).body)).toContain('EndpointsConfigDump');
    expect(types((await real('/config_dump')).body)).not.toContain('EndpointsConfigDump');
  });

  it('keeps one copy of each section from a proxy that ignores mask (answers the whole dump to every path)', async () => {
    const full = (await real(FULL_CONFIG_DUMP_PATH)).body;
    const maskIgnoringAdmin: AdminFetch = async () => ({ status: 200, body: full });
    const r = await fetchConfigDump(maskIgnoringAdmin, now);
    expect(r.errors).toEqual([]);
    expect(types(r.text?.body)).toEqual(SECTIONS);
  });

  it('falls back to the whole dump when every masked request is refused', async () => {
    const asked: string[] = [];
    const maskRefusingAdmin: AdminFetch = async (path) => {
      asked.push(path);
      return path.includes('mask=') ? { status: 400, body: 'unknown parameter' } : real(path);
    };
    const r = await fetchConfigDump(maskRefusingAdmin, now);
    expect(asked.at(-1)).toBe('/config_dump?include_eds');
    expect(r.text?.request).toBe('/config_dump?include_eds');
    expect(types(r.text?.body)).toEqual(expect.arrayContaining([...SECTIONS, 'RoutesConfigDump']));
    expect(r.errors).toEqual([]);
  });

  it('keeps the sections it got and names those it did not', async () => {
    const brokenAdmin: AdminFetch = async (path) => {
      if (path.includes('secrets')) throw new Error('connection reset');
      if (path.includes('listeners')) return { status: 200, body: 'not json' };
      return real(path);
    };
    const r = await fetchConfigDump(brokenAdmin, now);
    expect(types(r.text?.body)).toEqual(['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump']);
    expect(r.errors).toEqual([
      '/config_dump?mask=static_listeners,dynamic_listeners: the answer is not a config dump (JSON with configs[])',
      '/config_dump?mask=static_secrets,dynamic_active_secrets,dynamic_warming_secrets: connection reset',
    ]);
  });

  it("names a section Envoy refused with Envoy's own status and text, and keeps the rest", async () => {
    // A proxy whose endpoint dump is not available (the collector asks with include_eds; without it Envoy says 400).
    const noEdsAdmin: AdminFetch = (path) => real(path.replace('&include_eds', ''));
    const r = await fetchConfigDump(noEdsAdmin, now);
    expect(types(r.text?.body)).toEqual(SECTIONS.filter((t) => t !== 'EndpointsConfigDump'));
    expect(r.errors).toEqual([
      '/config_dump?mask=static_endpoint_configs,dynamic_endpoint_configs&include_eds: HTTP 400: FieldMask static_endpoint_configs,dynamic_endpoint_configs could not be successfully applied to any configs.',
    ]);
  });
});
