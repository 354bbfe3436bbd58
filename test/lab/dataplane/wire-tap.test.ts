import { afterEach, describe, expect, it } from 'vitest';
import { HOPS, meshStateForFault, startDataPlane, type DataPlane, type HopName } from '../../../src/lab/dataplane/index.js';
import { probe } from './client.js';

let plane: DataPlane | null = null;
afterEach(async () => {
  await plane?.stop();
  plane = null;
});

const TLS_HANDSHAKE_RECORD = 0x16;

/** Send requests with a unique marker and report, per hop, whether the marker crossed it readable. */
async function markerSeen(p: DataPlane, marker: string): Promise<Record<string, { connections: number; readable: boolean; tlsRecords: boolean }>> {
  for (const t of Object.values(p.taps!)) t.clear();
  for (let i = 0; i < 2; i++) expect((await probe(p, `${marker}-${i}`)).status).toBe(200);
  const out: Record<string, { connections: number; readable: boolean; tlsRecords: boolean }> = {};
  for (const hop of HOPS) {
    const t = p.taps![hop];
    out[hop] = { connections: t.connections, readable: t.sees(marker), tlsRecords: t.forward[0] === TLS_HANDSHAKE_RECORD };
  }
  return out;
}

describe('wire: what a tap between the parties can read', () => {
  it('healthy: the marker is readable only on the app-side loopback hops, never on TLS/mTLS hops', async () => {
    plane = await startDataPlane({ state: meshStateForFault(null), tap: true });
    const seen = await markerSeen(plane, 'WIRE-MARKER-7f3a');
    const encrypted: HopName[] = ['nlb->gateway', 'gateway->bff', 'bff->svc'];
    const loopback: HopName[] = ['bff-sidecar->bff-app', 'bff-app->bff-sidecar', 'svc-sidecar->svc-app'];
    for (const hop of encrypted) {
      // The tap did carry this hop's traffic (fresh connections or pooled ones that carried bytes)...
      expect(plane.taps![hop].forward.length, hop).toBeGreaterThan(0);
      // ...but the marker was not readable in it.
      expect(seen[hop]!.readable, hop).toBe(false);
    }
    expect(seen['nlb->gateway']!.tlsRecords).toBe(true);
    for (const hop of loopback) expect(seen[hop]!.readable, hop).toBe(true);
    expect(plane.taps!['plaintext-caller->svc'].forward.length).toBe(0);
  });

  it('control: under plaintext-gateway-bff the same tap reads the marker on the gateway->bff hop', async () => {
    plane = await startDataPlane({ state: meshStateForFault('plaintext-gateway-bff'), tap: true });
    const seen = await markerSeen(plane, 'WIRE-MARKER-c0n7');
    expect(seen['gateway->bff']!.readable).toBe(true);
    expect(seen['nlb->gateway']!.readable).toBe(false);
    expect(seen['bff->svc']!.readable).toBe(false);
  });

  it('control: without a sidecar on svc the marker crosses bff->svc in plaintext', async () => {
    plane = await startDataPlane({ state: meshStateForFault('no-sidecar-svc'), tap: true });
    const seen = await markerSeen(plane, 'WIRE-MARKER-n0sc');
    expect(seen['bff->svc']!.readable).toBe(true);
    expect(seen['gateway->bff']!.readable).toBe(false);
  });

  it('control: under permissive-svc the plaintext caller\'s request is readable on its hop to svc', async () => {
    plane = await startDataPlane({ state: meshStateForFault('permissive-svc'), tap: true });
    const seen = await markerSeen(plane, 'WIRE-MARKER-perm');
    expect(plane.taps!['plaintext-caller->svc'].connections).toBe(2);
    expect(plane.taps!['plaintext-caller->svc'].sees('GET /from-plaintext-caller HTTP/1.1')).toBe(true);
    expect(seen['bff->svc']!.readable).toBe(false);
  });

  it('control: with the NLB terminating TLS, the NLB->gateway hop is still TLS (re-originated)', async () => {
    plane = await startDataPlane({ state: meshStateForFault('nlb-terminates-tls'), tap: true });
    for (const t of Object.values(plane.taps!)) t.clear();
    expect((await probe(plane, 'WIRE-MARKER-nlb', { trust: 'none' })).status).toBe(200);
    expect(plane.taps!['nlb->gateway'].sees('WIRE-MARKER-nlb')).toBe(false);
    expect(plane.taps!['nlb->gateway'].forward[0]).toBe(TLS_HANDSHAKE_RECORD);
  });
});
