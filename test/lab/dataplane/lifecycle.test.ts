import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseStats } from '../../../src/envoy/index.js';
import { meshStateForFault, startDataPlane } from '../../../src/lab/dataplane/index.js';
import { admin, pod, probe } from './client.js';
import { ownListeningPorts } from '../../helpers/own-listeners.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

/** Poll until `ok()` holds (closing sockets can take a moment on a loaded machine), at most `ms`. */
async function settle(ok: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/** Handles that would keep the process alive: servers, sockets, timers. */
function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (/TCP|Timeout|Pipe/.test(r)) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

describe('start/stop lifecycle', () => {
  it('20 start/stop cycles with traffic free every port, socket and timer', async () => {
    await new Promise((r) => setTimeout(r, 20));
    const before = liveHandles();
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const plane = await startDataPlane({ state: meshStateForFault(i % 2 ? 'permissive-svc' : null), tap: i % 5 === 0 });
      ports.add(plane.nlb.port);
      for (const p of plane.pods()) for (const port of Object.values(p.ports)) ports.add(port);
      expect((await probe(plane, `cycle-${i}`)).status).toBe(200);
      await plane.stop();
    }
    // Nothing of ours is left (the runner's own timers may come and go, so compare per kind).
    const leaked = () => Object.entries(liveHandles()).filter(([kind, n]) => n > (before[kind] ?? 0));
    await settle(() => leaked().length === 0);
    expect(leaked()).toEqual([]);
    // No port of ours still listens. Where /proc tells which sockets are this process's, ask it:
    // another test process may bind a freed ephemeral port meanwhile, which is not a leak.
    const own = ownListeningPorts();
    const stillOpen: number[] = [];
    if (own) for (const port of ports) { if (own.has(port)) stillOpen.push(port); }
    else for (const port of ports) if (!(await refused(port))) stillOpen.push(port);
    expect(stillOpen).toEqual([]);
    expect(ports.size).toBeGreaterThan(20 * 6);
  });

  it('reconfigure: sockets and admin output follow a new MeshState without a restart', async () => {
    const plane = await startDataPlane({ state: meshStateForFault(null) });
    try {
      const nlbPort = plane.nlb.port;
      expect((await probe(plane, 'rc-1')).json.upstream.status).toBe(200);
      // svc's certificate expires: bff's pooled connection is drained and the new handshake fails
      await plane.reconfigure(meshStateForFault('expired-cert'));
      expect((await probe(plane, 'rc-2')).json.upstream.status).toBe(503);
      expect(parseStats(await admin(pod(plane, 'bff'), '/stats')).get('cluster.outbound|8080||svc.mesh-verify.svc.cluster.local.ssl.fail_verify_error')).toBe(3);
      // svc loses its sidecar: its admin port closes and bff talks plaintext to the app
      const oldAdmin = pod(plane, 'svc').ports[15000]!;
      await plane.reconfigure(meshStateForFault('no-sidecar-svc'));
      expect(pod(plane, 'svc').containers).toEqual(['svc']);
      expect(await refused(oldAdmin)).toBe(true);
      const a = await probe(plane, 'rc-3');
      expect(a.json.upstream.status).toBe(200);
      expect(a.json.upstream.body.headers['x-forwarded-client-cert']).toBeUndefined();
      // and back to healthy: a new svc sidecar, mTLS again
      await plane.reconfigure(meshStateForFault(null));
      const b = await probe(plane, 'rc-4');
      expect(b.json.upstream.body.headers['x-forwarded-client-cert']).toContain('URI=spiffe://cluster.local/ns/mesh-verify/sa/bff');
      expect(plane.state).toEqual(meshStateForFault(null));
      expect(plane.nlb.port).toBe(nlbPort);
    } finally {
      await plane.stop();
    }
  });
});
