import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../src/core/progress.js';
import type { InterruptHook } from '../../src/cluster/cleanup.js';
import { startLab, type StartedLab } from '../../src/lab/lab.js';
import { builtinPolicy } from '../../src/analyze/tls-policies-builtin.js';
import type { TlsPolicy } from '../../src/analyze/tls-policy.js';
import { defaultPathDeps } from '../../src/path/default-deps.js';
import { prepareLab } from '../../src/path/lab-target.js';
import { parsePathOptions } from '../../src/path/options.js';
import { runPath, type PathRunResult } from '../../src/path/run-path.js';
import type { RawPathOptions } from '../../src/path/options.js';
import { loadMeshConfigFile } from '../../src/io/mesh-config-file.js';
import { parseAllDocuments, stringify as stringifyYaml, parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { podAdmin } from '../helpers/pod-admin.js';
import { runCli } from '../helpers/cli-in-process.js';

const noSignals = (): InterruptHook => ({ dispose() {}, interrupted: false, done: Promise.resolve() });

/**
 * Issue 13 §1-2 on the real-Envoy lab: every TLS hop says what it negotiated, the crypto inventory
 * lists each certificate once, and each built-in policy is met or violated by a real handshake.
 */
describe('negotiated TLS per hop and --tls-policy, on the lab', { timeout: 120_000 }, () => {
  let lab: StartedLab;
  beforeAll(async () => { lab = await startLab({}); }, 60_000);
  afterAll(async () => { await lab?.stop(); });
  const run = (policy?: TlsPolicy, raw: RawPathOptions = {}): Promise<PathRunResult> => runPath(parsePathOptions({ requests: '3', deploy: false, ...raw }), {
    ...defaultPathDeps(policy ? { tlsPolicy: policy } : {}), interrupt: noSignals,
    prepare: (_o, p) => prepareLab({ fault: null }, p, async () => ({ ...lab, stop: async () => {} })),
  }, silentProgress);
  const seg = (r: PathRunResult, id: string) => r.report.segments.find((s) => s.id === id)!;

  /** Set the ingress Gateway's servers[].tls fields, as a user would (istiod turns them into tls_params). */
  async function gatewayTls(tls: Record<string, unknown>): Promise<void> {
    const gw = (await lab.kube.get('Gateway', 'mesh-verify', 'mesh-verify-gateway')) as { spec: { servers: { tls?: Record<string, unknown> }[] } };
    for (const s of gw.spec.servers) if (s.tls) s.tls = { ...s.tls, ...tls };
    await lab.kube.apply({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'mesh-verify-gateway', namespace: 'mesh-verify' }, spec: gw.spec });
    await lab.settled();
  }

  it('shows version and cipher for every TLS hop, and lists every certificate once', async () => {
    const r = await run();
    for (const id of ['client->nlb', 'nlb->gateway', 'gateway->bff-sidecar', 'bff-sidecar->svc-sidecar']) {
      expect(seg(r, id).negotiated, id).toMatchObject({ version: 'TLSv1.3', cipher: expect.stringMatching(/^TLS_AES_(128|256)_GCM_SHA(256|384)$/) });
    }
    expect(seg(r, 'client->nlb').negotiated?.group).toBe('X25519');
    expect(seg(r, 'bff-sidecar->bff').negotiated).toBeUndefined();
    const inv = r.report.cryptoInventory ?? [];
    expect(new Set(inv.map((c) => c.fingerprint256)).size).toBe(inv.length);
    const bff = inv.find((c) => c.spiffeId === 'spiffe://cluster.local/ns/mesh-verify/sa/bff')!;
    expect(bff.roles.sort()).toEqual(['client', 'server']);
    expect(bff.protects.sort()).toEqual(['bff-sidecar->svc-sidecar', 'gateway->bff-sidecar']);
    expect(bff).toMatchObject({ keyType: 'EC prime256v1', keySize: 256, signatureAlgorithm: 'ECDSA with SHA-256' });
    expect(inv.find((c) => c.roles.includes('server') && c.protects.includes('client->nlb'))?.subject).toContain('web.mesh-verify.test');
  });

  it('modern is met by the healthy lab; fips-140-3 and pq-hybrid are not: every hop\'s handshake used X25519', async () => {
    const modern = await run(builtinPolicy('modern'));
    expect(modern.report.overall).toBe('proven');
    expect(modern.report.tlsPolicy?.name).toBe('modern');
    // fips-140-3 leaves X25519 out (src/analyze/tls-policies-builtin.ts); pq-hybrid wants an ML-KEM
    // hybrid, which Node 20's OpenSSL 3.0 cannot offer. The client's handshake names the edge's
    // group; Envoy's ssl.curves.* counters name the others' (gateway listener, calling clusters).
    for (const name of ['fips-140-3', 'pq-hybrid'] as const) {
      const r = await run(builtinPolicy(name));
      expect([name, seg(r, 'client->nlb').status]).toEqual([name, 'contradicted']);
      expect(seg(r, 'client->nlb').evidence.find((e) => e.subject === `${name} (edge) group`)).toMatchObject({ observed: expect.stringMatching(/^x25519$/i), effect: 'contradicts' });
      expect(seg(r, 'nlb->gateway').evidence.find((e) => e.subject === `${name} (edge) group`)).toMatchObject({ observed: expect.stringMatching(/^x25519$/i), source: 'stats', proxy: 'gateway', effect: 'contradicts', note: expect.stringMatching(/^\d+ handshake\(s\) with this group counted in listener\.0\.0\.0\.0_8443\.ssl\.curves\.\*/) });
      for (const id of ['gateway->bff-sidecar', 'bff-sidecar->svc-sidecar']) {
        expect([name, id, seg(r, id).status]).toEqual([name, id, 'contradicted']);
        expect(seg(r, id).evidence.find((e) => e.subject === `${name} (mesh) group`)).toMatchObject({ observed: expect.stringMatching(/^x25519$/i), source: 'stats', effect: 'contradicts' });
        expect(seg(r, id).negotiated?.groupSource).toMatch(/^stats (gateway|bff) cluster\.outbound\|8080\|\|(bff|svc)\.mesh-verify\.svc\.cluster\.local;\.ssl\.curves\.\*/);
      }
    }
  });

  it('a gateway limited to TLS 1.2 violates modern on the edge hops, with negotiated and allowed values side by side', async () => {
    await gatewayTls({ maxProtocolVersion: 'TLSV1_2' });
    try {
      const r = await run(builtinPolicy('modern'));
      for (const id of ['client->nlb', 'nlb->gateway']) {
        expect(seg(r, id).status, id).toBe('contradicted');
        expect(seg(r, id).negotiated?.version).toBe('TLSv1.2');
        expect(seg(r, id).evidence.find((e) => e.subject === 'modern (edge) version')).toMatchObject({ observed: 'TLSv1.2', effect: 'contradicts' });
      }
      expect(seg(r, 'gateway->bff-sidecar').status).toBe('proven');
      expect(r.exitCode).toBe(1);
      // The same run without a policy is proven: TLS 1.2 is still TLS.
      expect((await run()).report.overall).toBe('proven');
    } finally {
      await gatewayTls({ maxProtocolVersion: undefined });
    }
  });

  it('a gateway that negotiates ChaCha20-Poly1305 violates fips-140-3', async () => {
    await gatewayTls({ maxProtocolVersion: 'TLSV1_2', cipherSuites: ['ECDHE-ECDSA-CHACHA20-POLY1305'] });
    try {
      const r = await run(builtinPolicy('fips-140-3'));
      expect(seg(r, 'client->nlb').negotiated?.cipher).toMatch(/CHACHA20/);
      expect(seg(r, 'client->nlb').status).toBe('contradicted');
      expect(seg(r, 'client->nlb').evidence.some((e) => e.subject === 'fips-140-3 (edge) cipher' && e.effect === 'contradicts')).toBe(true);
    } finally {
      await gatewayTls({ maxProtocolVersion: undefined, cipherSuites: undefined });
    }
  });

  /** Replace the mesh config istiod reads (ConfigMap istio-system/istio, key mesh) with `edit` applied. */
  async function meshConfig(edit: (mesh: Record<string, unknown>) => void): Promise<void> {
    const cm = (await lab.kube.get('ConfigMap', 'istio-system', 'istio')) as { data: { mesh: string } };
    const mesh = parseYaml(cm.data.mesh) as Record<string, unknown>;
    edit(mesh);
    await lab.kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { ...cm.data, mesh: stringifyYaml(mesh) } }, 'istioctl');
    await lab.settled();
  }

  it('a client offering only P-256/P-384 (--tls-groups) meets fips-140-3 on the edge: the client\'s handshake and the gateway\'s ssl.curves counters say P-256', async () => {
    const r = await run(builtinPolicy('fips-140-3'), { tlsGroups: 'P-256:P-384' });
    expect(r.bundle.run.options.tlsGroups).toEqual(['P-256', 'P-384']);
    expect(seg(r, 'client->nlb').negotiated?.group).toMatch(/^(prime256v1|P-256)$/);
    expect(seg(r, 'client->nlb').status).toBe('proven');
    expect(seg(r, 'nlb->gateway').negotiated?.group).toBe('P-256');
    expect(seg(r, 'nlb->gateway').status).toBe('proven');
  });

  it('meshConfig.tlsDefaults.ecdhCurves limits the gateway (istiod\'s applyDownstreamTLSDefaults): the edge meets fips-140-3 with Node\'s default offer; the mesh hops cannot (Istio 1.30 has no mesh mTLS curves setting)', async () => {
    await meshConfig((m) => { m.tlsDefaults = { ecdhCurves: ['P-256', 'P-384'] }; });
    try {
      const dump = await podAdmin(lab.pods().find((p) => p.name.startsWith('istio-ingressgateway'))!, '/config_dump?resource=dynamic_listeners');
      expect(dump).toContain('"ecdh_curves"');
      const r = await run(builtinPolicy('fips-140-3'));
      // Node offers X25519 first; the gateway accepts only P-256/P-384, so the handshake moves to P-256 (HelloRetryRequest).
      expect(seg(r, 'client->nlb').negotiated?.group).toMatch(/^(prime256v1|P-256)$/);
      for (const id of ['client->nlb', 'nlb->gateway']) expect([id, seg(r, id).status]).toEqual([id, 'proven']);
      expect(seg(r, 'nlb->gateway').negotiated).toMatchObject({ version: 'TLSv1.3', cipher: expect.stringMatching(/^TLS_AES_(128|256)_GCM/), group: 'P-256' });
      // Sidecar-to-sidecar mTLS keeps Envoy's default groups: X25519, counted by the calling clusters.
      for (const id of ['gateway->bff-sidecar', 'bff-sidecar->svc-sidecar']) {
        expect([id, seg(r, id).status]).toEqual([id, 'contradicted']);
        expect(seg(r, id).negotiated?.group).toBe('X25519');
      }
      expect(r.exitCode).toBe(1);
      // modern still holds everywhere: the change touched groups only.
      expect((await run(builtinPolicy('modern'))).report.overall).toBe('proven');
    } finally {
      await meshConfig((m) => { delete m.tlsDefaults; });
    }
    expect((await run(undefined, {})).report.segments.find((x) => x.id === 'nlb->gateway')!.negotiated?.group).toBe('X25519');
  });

  it('meshConfig.meshMTLS.ecdhCurves is refused as istiod refuses it; meshMTLS.minProtocolVersion reaches the inbound mesh contexts', async () => {
    await meshConfig((m) => { m.meshMTLS = { ecdhCurves: ['P-256'] }; });
    try {
      expect(lab.state.meshConfigRejected).toBe('invalid mesh config, using last known state: mesh TLS does not support ECDH curves configuration');
      const r = await run(builtinPolicy('fips-140-3'));
      expect(seg(r, 'bff-sidecar->svc-sidecar').negotiated?.group).toBe('X25519');
      await meshConfig((m) => { m.meshMTLS = { minProtocolVersion: 'TLSV1_3' }; });
      expect(lab.state.meshConfigRejected).toBeNull();
      expect(lab.state.meshMtlsTls.minVersion).toBe('TLSv1_3');
      const svc = lab.pods().find((p) => p.name.startsWith('svc-'))!;
      const dump = await podAdmin(svc, '/config_dump?resource=dynamic_listeners');
      expect(dump).toContain('"tls_minimum_protocol_version": "TLSv1_3"');
      expect((await run(builtinPolicy('modern'))).report.overall).toBe('proven');
    } finally {
      await meshConfig((m) => { delete m.meshMTLS; });
    }
  });
});

describe('a lab run that meets fips-140-3: --mesh-config fixtures/istio/mesh-config-fips.yaml plus the EnvoyFilter fixtures/istio/envoyfilter-fips-mesh-groups.yaml', { timeout: 120_000 }, () => {
  let lab: StartedLab;
  beforeAll(async () => { lab = await startLab({ meshConfig: await loadMeshConfigFile('fixtures/istio/mesh-config-fips.yaml') }); }, 60_000);
  afterAll(async () => { await lab?.stop(); });
  const run = (raw: RawPathOptions = {}): Promise<PathRunResult> => runPath(parsePathOptions({ requests: '3', deploy: false, ...raw }), {
    ...defaultPathDeps({ tlsPolicy: builtinPolicy('fips-140-3') }), interrupt: noSignals,
    prepare: (_o, p) => prepareLab({ fault: null }, p, async () => ({ ...lab, stop: async () => {} })),
  }, silentProgress);
  const TLS_HOPS = ['client->nlb', 'nlb->gateway', 'gateway->bff-sidecar', 'bff-sidecar->svc-sidecar'];

  it('the mesh config alone limits the gateway, not the mesh: the sidecars still negotiate X25519', async () => {
    expect(lab.state.gatewayTls).toMatchObject({ ecdhCurves: ['P-256', 'P-384'], cipherSuites: expect.arrayContaining(['ECDHE-ECDSA-AES128-GCM-SHA256']) });
    expect(lab.state.meshMtlsTls.cipherSuites).toHaveLength(4);
    const r = await run();
    for (const id of ['client->nlb', 'nlb->gateway']) expect([id, r.report.segments.find((x) => x.id === id)!.status]).toEqual([id, 'proven']);
    expect(r.report.segments.find((x) => x.id === 'bff-sidecar->svc-sidecar')!.negotiated?.group).toBe('X25519');
    expect(r.exitCode).toBe(1);
  });

  it('with the EnvoyFilter applied, every TLS hop negotiates an approved version, cipher and group as Envoy counts and logs them: fips-140-3 is met, exit 0', async () => {
    for (const doc of parseAllDocuments(readFileSync('fixtures/istio/envoyfilter-fips-mesh-groups.yaml', 'utf8'))) await lab.kube.apply(doc.toJS() as Record<string, unknown>, 'kubectl');
    await lab.settled();
    expect(lab.state.envoyFiltersIgnored).toEqual([]);
    const r = await run();
    for (const id of TLS_HOPS) {
      const s = r.report.segments.find((x) => x.id === id)!;
      expect([id, s.status]).toEqual([id, 'proven']);
      expect([id, s.negotiated]).toMatchObject([id, { version: 'TLSv1.3', cipher: expect.stringMatching(/^TLS_AES_(128|256)_GCM_SHA(256|384)$/), group: expect.stringMatching(/^(prime256v1|P-256)$/) }]);
      expect(s.evidence.filter((e) => e.subject.startsWith('fips-140-3'))).toEqual([]);
    }
    // Read from what Envoy counted (ssl.curves.P-256 of the gateway listener and the calling clusters), not assumed.
    const gw = r.report.segments.find((x) => x.id === 'nlb->gateway')!.negotiated!;
    expect(gw.groupSource).toMatch(/^stats gateway listener\.0\.0\.0\.0_8443\.ssl\.curves\.\*/);
    expect(r.report.segments.find((x) => x.id === 'bff-sidecar->svc-sidecar')!.negotiated!.groupSource).toMatch(/^stats bff cluster\.outbound\|8080\|\|svc\.mesh-verify\.svc\.cluster\.local;\.ssl\.curves\.\*/);
    expect(r.report.overall).toBe('proven');
    expect(r.report.tlsPolicy?.name).toBe('fips-140-3');
    expect(r.exitCode).toBe(0);
    // pq-hybrid stays violated: Node 20's OpenSSL 3.0 cannot offer an ML-KEM group.
    const pq = await runPath(parsePathOptions({ requests: '2', deploy: false }), {
      ...defaultPathDeps({ tlsPolicy: builtinPolicy('pq-hybrid') }), interrupt: noSignals,
      prepare: (_o, p) => prepareLab({ fault: null }, p, async () => ({ ...lab, stop: async () => {} })),
    }, silentProgress);
    expect(pq.exitCode).toBe(1);
  });

  it('and at TLS 1.2 (a Gateway limited to TLSV1_2, a client offering P-256 only): the FIPS suites of tlsDefaults.cipherSuites, still met', async () => {
    const gw = (await lab.kube.get('Gateway', 'mesh-verify', 'mesh-verify-gateway')) as { spec: { servers: { tls?: Record<string, unknown> }[] } };
    for (const s of gw.spec.servers) if (s.tls) s.tls = { ...s.tls, maxProtocolVersion: 'TLSV1_2' };
    await lab.kube.apply({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'mesh-verify-gateway', namespace: 'mesh-verify' }, spec: gw.spec });
    await lab.settled();
    const r = await run({ tlsGroups: 'P-256' });
    const seg = (id: string) => r.report.segments.find((s) => s.id === id)!;
    for (const id of ['client->nlb', 'nlb->gateway']) {
      expect([id, seg(id).status]).toEqual([id, 'proven']);
      expect(seg(id).negotiated).toMatchObject({ version: 'TLSv1.2', cipher: expect.stringMatching(/ECDHE-ECDSA-AES(128|256)-GCM-SHA(256|384)|TLS_ECDHE_ECDSA_WITH_AES_(128|256)_GCM/) });
    }
    expect(seg('nlb->gateway').negotiated?.group).toBe('P-256');
    expect(r.exitCode).toBe(0);
  });
});

describe('mesh-verify path --lab --mesh-config ... --apply ... --tls-policy fips-140-3 (the command a user runs)', { timeout: 120_000 }, () => {
  it('exits 0 with every TLS hop proven and P-256 on each; without --apply it exits 1 on the mesh hops', async () => {
    const args = ['path', '--lab', '--mesh-config', 'fixtures/istio/mesh-config-fips.yaml', '--tls-policy', 'fips-140-3', '--requests', '2', '-q', '-o', 'json'];
    const met = await runCli(...args.slice(0, 4), '--apply', 'fixtures/istio/envoyfilter-fips-mesh-groups.yaml', ...args.slice(4));
    expect([met.status, met.stderr]).toEqual([0, '']);
    const report = JSON.parse(met.stdout) as { overall: string; segments: { id: string; status: string; negotiated?: { group: string | null } }[] };
    expect(report.overall).toBe('proven');
    for (const id of ['client->nlb', 'nlb->gateway', 'gateway->bff-sidecar', 'bff-sidecar->svc-sidecar']) {
      expect([id, report.segments.find((s) => s.id === id)?.negotiated?.group]).toEqual([id, expect.stringMatching(/^(prime256v1|P-256)$/)]);
    }
    const meshOnly = await runCli(...args);
    expect(meshOnly.status).toBe(1);
    const r2 = JSON.parse(meshOnly.stdout) as typeof report;
    expect(r2.segments.filter((s) => s.status === 'contradicted').map((s) => s.id)).toEqual(['gateway->bff-sidecar', 'bff-sidecar->svc-sidecar']);
  });
});
