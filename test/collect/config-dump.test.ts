import { describe, expect, it } from 'vitest';
import { fetchConfigDump } from '../../src/collect/config-dump.js';
import { HAVE_REFERENCE, SKIP_REASON, readReferenceText } from '../helpers/reference.js';
import { maskedDump, sampleDump } from './fake-admin.js';

const now = () => new Date('2026-01-01T00:00:00Z');
const types = (body: string | undefined) => (JSON.parse(body ?? '{}').configs as { '@type': string }[]).map((c) => c['@type'].split('.').pop());

describe('fetchConfigDump', () => {
  it('keeps one copy of each section from a proxy that ignores mask', async () => {
    const full = JSON.stringify(sampleDump());
    const r = await fetchConfigDump(async () => ({ status: 200, body: full }), now);
    expect(r.errors).toEqual([]);
    expect(types(r.text?.body)).toEqual(['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'SecretsConfigDump']);
  });

  it('falls back to the whole dump when every masked request is refused', async () => {
    const asked: string[] = [];
    const r = await fetchConfigDump(async (path) => {
      asked.push(path);
      return path.includes('mask=') ? { status: 400, body: 'unknown parameter' } : maskedDump(sampleDump(), new URL(path, 'http://x').searchParams);
    }, now);
    expect(asked.at(-1)).toBe('/config_dump?include_eds');
    expect(r.text?.request).toBe('/config_dump?include_eds');
    expect(types(r.text?.body)).toContain('RoutesConfigDump');
    expect(r.errors).toEqual([]);
  });

  it('keeps the sections it got and names those it did not', async () => {
    const r = await fetchConfigDump(async (path) => {
      if (path.includes('secrets')) throw new Error('connection reset');
      if (path.includes('listeners')) return { status: 200, body: 'not json' };
      return maskedDump(sampleDump(), new URL(path, 'http://x').searchParams);
    }, now);
    expect(types(r.text?.body)).toEqual(['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump']);
    expect(r.errors).toEqual([
      '/config_dump?mask=static_listeners,dynamic_listeners: the answer is not a config dump (JSON with configs[])',
      '/config_dump?mask=static_secrets,dynamic_active_secrets,dynamic_warming_secrets: connection reset',
    ]);
  });

  it.skipIf(!HAVE_REFERENCE)(`sections a real Istio 1.22 sidecar dump under Envoy's mask rules ${HAVE_REFERENCE ? '' : SKIP_REASON}`, async () => {
    const real = JSON.parse(readReferenceText('envoy/istio-1.22.3-sidecar-app1-config_dump.json'));
    const r = await fetchConfigDump(async (path) => maskedDump(real, new URL(path, 'http://x').searchParams), now);
    const doc = JSON.parse(r.text?.body ?? '{}');
    const listeners = doc.configs.find((c: { '@type': string }) => c['@type'].endsWith('ListenersConfigDump'));
    expect(listeners.dynamic_listeners.some((l: { name: string }) => l.name === 'virtualInbound')).toBe(true);
    expect(doc.configs.some((c: { '@type': string }) => c['@type'].endsWith('RoutesConfigDump'))).toBe(false);
    expect(r.text!.body.length).toBeLessThan(JSON.stringify(real).length);
  });
});
