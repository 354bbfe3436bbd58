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
import type { KubeObject } from '../../src/lab/kube/object-store.js';

const noSignals = (): InterruptHook => ({ dispose() {}, interrupted: false, done: Promise.resolve() });

/**
 * Issue 13 §1-2 on the real-Envoy lab: every TLS hop says what it negotiated, the crypto inventory
 * lists each certificate once, and each built-in policy is met or violated by a real handshake.
 */
describe('negotiated TLS per hop and --tls-policy, on the lab', { timeout: 120_000 }, () => {
  let lab: StartedLab;
  beforeAll(async () => { lab = await startLab({}); }, 60_000);
  afterAll(async () => { await lab?.stop(); });
  const run = (policy?: TlsPolicy): Promise<PathRunResult> => runPath(parsePathOptions({ requests: '3', deploy: false }), {
    ...defaultPathDeps(policy ? { tlsPolicy: policy } : {}), interrupt: noSignals,
    prepare: (_o, p) => prepareLab({ fault: null }, p, async () => ({ ...lab, stop: async () => {} })),
  }, silentProgress);
  const seg = (r: PathRunResult, id: string) => r.report.segments.find((s) => s.id === id)!;

  /** Set the ingress Gateway's servers[].tls fields, as a user would (istiod turns them into tls_params). */
  async function gatewayTls(tls: Record<string, unknown>): Promise<void> {
    const gw = structuredClone(lab.api.store.get('Gateway', 'mesh-verify', 'mesh-verify-gateway')) as KubeObject & { spec: { servers: { tls?: Record<string, unknown> }[] } };
    for (const s of gw.spec.servers) if (s.tls) s.tls = { ...s.tls, ...tls };
    lab.api.apply(gw);
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
});
