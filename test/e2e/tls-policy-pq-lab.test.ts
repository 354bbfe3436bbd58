import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pqClientNode } from '../helpers/pq-client-node.js';

const bin = new URL('../../bin/mesh-verify.js', import.meta.url).pathname;

interface Segment { id: string; status: string; negotiated?: { version: string | null; cipher: string | null; group: string | null; groupSource?: string | null } }

/** The CLI as a user runs it, on another Node (the one whose OpenSSL can offer ML-KEM), bounded in time. */
function runOn(node: string, args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(node, [bin, ...args], { env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const killer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('close', (status) => { clearTimeout(killer); resolve({ status, stdout, stderr }); });
  });
}

/**
 * Issue 13's last done-when: a lab run that MEETS pq-hybrid. Node 20 (OpenSSL 3.0) cannot offer an
 * ML-KEM group, so the CLI runs here on Node 24 (OpenSSL 3.5, from the component cache); the
 * gateway and the sidecars are real Envoy 1.38, configured by the two fixtures, and what each hop
 * negotiated is read from the client's own handshake and from Envoy's ssl.curves.* counters.
 * (That the same lab without the two fixtures violates pq-hybrid on every hop is
 * test/e2e/tls-policy-lab.test.ts; by hand on Node 24, without --apply, the two mesh hops are
 * contradicted on X25519 and the run exits 1.)
 */
describe('mesh-verify path --lab --tls-policy pq-hybrid, met: X25519MLKEM768 on every TLS hop (CLI on Node 24 / OpenSSL 3.5)', { timeout: 180_000 }, () => {
  it('exits 0 with every TLS hop proven on TLS 1.3 and X25519MLKEM768, the gateway and the calling sidecars counting it', async () => {
    const node = pqClientNode();
    const r = await runOn(node.path, ['path', '--lab',
      '--mesh-config', 'fixtures/istio/mesh-config-pq-hybrid.yaml', '--apply', 'fixtures/istio/envoyfilter-pq-hybrid-mesh-groups.yaml',
      '--tls-policy', 'pq-hybrid', '--tls-groups', 'X25519MLKEM768', '--requests', '2', '-q', '-o', 'json'], 150_000);
    expect([r.status, r.stderr]).toEqual([0, '']);
    const report = JSON.parse(r.stdout) as { overall: string; tlsPolicy?: { name: string }; segments: Segment[] };
    expect(report.overall).toBe('proven');
    expect(report.tlsPolicy?.name).toBe('pq-hybrid');
    const seg = (id: string) => report.segments.find((s) => s.id === id)!;
    for (const id of ['client->nlb', 'nlb->gateway', 'gateway->bff-sidecar', 'bff-sidecar->svc-sidecar']) {
      expect([id, seg(id).status]).toEqual([id, 'proven']);
      expect([id, seg(id).negotiated]).toMatchObject([id, { version: 'TLSv1.3', group: 'X25519MLKEM768' }]);
    }
    // Counted by Envoy, not assumed from the configuration: the gateway's listener and the calling sidecars' clusters.
    expect(seg('nlb->gateway').negotiated!.groupSource).toMatch(/^stats gateway listener\.0\.0\.0\.0_8443\.ssl\.curves\.\*/);
    expect(seg('gateway->bff-sidecar').negotiated!.groupSource).toMatch(/^stats gateway cluster\.outbound\|8080\|\|bff\.mesh-verify\.svc\.cluster\.local;?\.ssl\.curves\.\*/);
    expect(seg('bff-sidecar->svc-sidecar').negotiated!.groupSource).toMatch(/^stats bff cluster\.outbound\|8080\|\|svc\.mesh-verify\.svc\.cluster\.local;?\.ssl\.curves\.\*/);
  });
});
