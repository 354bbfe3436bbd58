import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectKube, type KubeClients } from '../../src/cluster/kube-client.js';
import { openForwardedSocket } from '../../src/cluster/port-forward-server.js';
import { planFleet } from '../../src/lab/scale/plan.js';
import { fleetLabMissing, startFleetApi, type FleetApi } from './fleet-api.js';

/**
 * The fleet's admin servers reached the way the audit reaches them on a cluster: a port-forward
 * through the real kube-apiserver and kwok (its PortForward object points port 15000 at the
 * proxy's server on 127.0.0.1). Each answer must be what a direct TCP connection to that server
 * gets, byte for byte (but the Date header). kwok's tunnel (sigs.k8s.io/kwok pkg/utils/net
 * Tunnel) ends a stream when a copy fails or both directions are done: a server that closes its
 * side cleanly (Connection: close) leaves the stream open until the client closes it, which is
 * why a reachable proxy's answer is read up to its Content-Length here, not up to the end.
 */

const COUNT = 60;
const SEED = 5;
const missing = fleetLabMissing();

interface Forwarded { data: Buffer; errors: string[]; ended: boolean }

/** How many complete HTTP/1.1 responses (with Content-Length, as the admin servers answer) `b` holds. */
function completeResponses(b: Buffer): number {
  let n = 0;
  for (let at = 0; ;) {
    const head = b.indexOf('\r\n\r\n', at);
    if (head < 0) return n;
    const length = /\r\ncontent-length: (\d+)/i.exec(b.subarray(at, head).toString('latin1'));
    const end = head + 4 + Number(length?.[1] ?? 0);
    if (end > b.length) return n;
    n += 1;
    at = end;
  }
}

/**
 * One port-forward stream to port 15000: write `request`, collect until `responses` complete
 * answers arrived, the stream ended, or `waitMs` passed.
 */
async function viaPortForward(clients: KubeClients, pod: { namespace: string; name: string }, request: string, responses: number, waitMs = 8000): Promise<Forwarded> {
  const errors: string[] = [];
  const socket = await openForwardedSocket(clients, pod, 15000, 8000, (t) => errors.push(t));
  const data: Buffer[] = [];
  const ended = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs);
    socket.on('data', (c: Buffer) => {
      data.push(c);
      if (responses > 0 && completeResponses(Buffer.concat(data)) >= responses) { clearTimeout(timer); resolve(false); }
    });
    socket.on('end', () => { clearTimeout(timer); resolve(true); });
    socket.on('close', () => { clearTimeout(timer); resolve(true); });
    socket.on('error', () => undefined);
    socket.write(request);
  });
  socket.destroy();
  return { data: Buffer.concat(data), errors, ended };
}

/** The same request on a direct TCP connection to the admin server. */
function viaTcp(port: number, request: string): Promise<{ data: Buffer; error: string | null }> {
  return new Promise((resolve) => {
    const data: Buffer[] = [];
    let error: string | null = null;
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    s.on('data', (c: Buffer) => data.push(c));
    s.on('error', (e) => { error = e.message; });
    s.on('close', () => resolve({ data: Buffer.concat(data), error }));
  });
}

/** HTTP response bytes with the Date headers' values blanked (the only thing that differs). */
const normalized = (b: Buffer) => b.toString('latin1').replace(/\r\nDate: [^\r]+/gi, '\r\nDate: -');

const REQUEST = 'GET /config_dump?mask=bootstrap.node HTTP/1.1\r\nHost: 127.0.0.1:15000\r\nConnection: close\r\n\r\n';

describe.skipIf(missing)('fleet port-forward through the real apiserver and kwok answers as direct TCP does', () => {
  let lab: FleetApi;
  let clients: KubeClients;
  const plan = planFleet(COUNT, SEED);
  const byVariant = (v: string) => plan.proxies.find((p) => p.variant === v)!;
  const reachable = plan.proxies.filter((x) => x.variant !== 'unreachable' && x.variant !== 'restarting');
  const adminPort = (p: { namespace: string; name: string }) => lab.lab.pods().find((x) => x.namespace === p.namespace && x.name === p.name)!.ports[15000]!;

  beforeAll(async () => {
    lab = await startFleetApi(COUNT, SEED);
    clients = await connectKube({ kubeconfig: lab.auditKubeconfig });
  }, 120_000);
  afterAll(async () => { await lab?.stop(); });

  it('each fleet pod has a kwok PortForward to its own admin server', async () => {
    for (const p of [reachable[0]!, byVariant('unreachable'), byVariant('restarting')]) {
      const pf = (await lab.lab.kube.get('PortForward', p.namespace, p.name))!;
      expect(pf.spec.forwards).toEqual([{ ports: [15000], target: { address: '127.0.0.1', port: adminPort(p) } }]);
    }
  });

  it('reachable proxies (a sidecar, a native sidecar, a gateway): the same response bytes; the node id carries the pod\'s kwok IP', async () => {
    const picks = [reachable.find((p) => !p.gateway && !p.nativeSidecar)!, reachable.find((p) => p.nativeSidecar)!, reachable.find((p) => p.gateway)!];
    for (const p of picks) {
      const forwarded = await viaPortForward(clients, p, REQUEST, 1);
      const direct = await viaTcp(adminPort(p), REQUEST);
      expect(forwarded.errors).toEqual([]);
      expect(direct.error).toBeNull();
      expect(normalized(forwarded.data)).toBe(normalized(direct.data));
      const text = forwarded.data.toString('utf8');
      expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { configs: { bootstrap: { node: { id: string } } }[] };
      const pod = (await lab.lab.kube.get('Pod', p.namespace, p.name))!;
      // sidecar~<pod IP>~<pod>.<namespace>~...: the IP is kwok's, as the API reports it.
      expect(body.configs[0]!.bootstrap.node.id).toContain(`~${pod.status.podIP}~${p.name}.${p.namespace}`);
    }
  });

  it('keep-alive: two requests on one stream get both answers, as over TCP', async () => {
    const p = reachable[1]!;
    const two = 'GET /ready HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const forwarded = await viaPortForward(clients, p, two, 2);
    const direct = await viaTcp(adminPort(p), two);
    expect(normalized(forwarded.data)).toBe(normalized(direct.data));
    expect(forwarded.data.toString().match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 404']);
  });

  it('an unreachable proxy: refused over TCP; through kwok no bytes, kwok\'s dial error on the error channel', async () => {
    const p = byVariant('unreachable');
    const direct = await viaTcp(adminPort(p), REQUEST);
    expect(direct.error).toBe(`connect ECONNREFUSED 127.0.0.1:${adminPort(p)}`);
    const forwarded = await viaPortForward(clients, p, REQUEST, 0, 3000);
    expect(forwarded.data.length).toBe(0);
    expect(forwarded.errors.join('\n')).toContain(`dial tcp 127.0.0.1:${adminPort(p)}: connect: connection refused`);
    expect(forwarded.ended).toBe(true);
  });

  it('a restarting proxy: reset over TCP; through kwok not one byte, and what kwok reports is the reset', async () => {
    const p = byVariant('restarting');
    const direct = await viaTcp(adminPort(p), REQUEST);
    expect(direct.data.length).toBe(0);
    expect(direct.error).toMatch(/ECONNRESET/);
    // Where the reset lands (kwok's dial, its first write, or its read) depends on timing; so does
    // whether kwok reports it on the error channel at all (when it does not, the stream stays
    // open for seconds and an audit waits out its --timeout-ms for the request).
    const forwarded = await viaPortForward(clients, p, REQUEST, 0, 3000);
    expect(forwarded.data.length).toBe(0);
    for (const e of forwarded.errors) expect(e).toMatch(new RegExp(`^error forwarding port 15000 to pod ${p.name}/${p.namespace}, uid : (failed to dial|writeto|readfrom|read|write).*(connection reset by peer|broken pipe)`));
    // Once kwok reported the failure, the stream is over for the client (no more data will come).
    if (forwarded.errors.length > 0) expect(forwarded.ended).toBe(true);
  });
});
