import net from 'node:net';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startKubeApi, type KubeApi } from '../../src/lab/kube/server.js';
import { planFleet } from '../../src/lab/scale/plan.js';
import type { LabPod } from '../../src/lab/types.js';
import { startFleetApi, type FleetApi } from './fleet-api.js';

/**
 * The fleet's pods offer an in-process connection to their admin port (LabPod.connect), which
 * port-forward uses instead of a loopback TCP connection. It must answer exactly as TCP does:
 * each case runs through the lab's API and through a second API over the same fleet whose pods
 * do not offer it (so port-forward connects to LabPod.ports over TCP).
 */

const COUNT = 60;
const SEED = 5;

interface Forwarded { data: Buffer; errors: string[]; closeCode: number }

/** One port-forward to port 15000: send `request` on the data channel, collect until the stream closes. */
function portForward(api: KubeApi, pod: { namespace: string; name: string }, request: string): Promise<Forwarded> {
  const url = `${api.url.replace('https://', 'wss://')}/api/v1/namespaces/${pod.namespace}/pods/${pod.name}/portforward?ports=15000`;
  const ws = new WebSocket(url, ['v4.channel.k8s.io'], { ca: api.caPem, headers: { Authorization: `Bearer ${api.token}` } });
  const data: Buffer[] = [];
  const errors: string[] = [];
  const seen = [0, 0];
  return new Promise((resolve, reject) => {
    ws.on('open', () => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(request)])));
    ws.on('message', (raw: Buffer) => {
      const channel = raw[0];
      const payload = raw.subarray(1);
      seen[channel] += 1;
      if (seen[channel] === 1) {
        expect(payload.readUInt16LE(0)).toBe(15000); // the first frame on each channel names the port
        return;
      }
      if (channel === 0) data.push(payload);
      else errors.push(payload.toString('utf8'));
    });
    ws.on('close', (code) => resolve({ data: Buffer.concat(data), errors, closeCode: code }));
    ws.on('error', reject);
  });
}

/** HTTP response bytes with the Date header's value blanked (it is the only thing that differs). */
const normalized = (b: Buffer) => b.toString('latin1').replace(/\r\nDate: [^\r]+/i, '\r\nDate: -');

const REQUEST = 'GET /config_dump?mask=bootstrap.node HTTP/1.1\r\nHost: 127.0.0.1:15000\r\nConnection: close\r\n\r\n';

describe('fleet port-forward in process (LabPod.connect) answers as over TCP', () => {
  let lab: FleetApi;
  let tcpApi: KubeApi;
  const plan = planFleet(COUNT, SEED);
  const byVariant = (v: string) => plan.proxies.find((p) => p.variant === v)!;
  const labPod = (p: { namespace: string; name: string }) => lab.fleet.pods().find((x) => x.namespace === p.namespace && x.name === p.name)!;

  beforeAll(async () => {
    lab = await startFleetApi(COUNT, SEED);
    const tcpOnly: LabPod[] = lab.fleet.pods().map(({ connect: _connect, ...p }) => p);
    tcpApi = await startKubeApi({ pods: () => tcpOnly });
    for (const o of lab.fleet.objects()) tcpApi.apply(o as Parameters<KubeApi['apply']>[0], 'mesh-verify-fleet');
  }, 60_000);
  afterAll(async () => {
    await tcpApi?.close();
    await lab?.stop();
  });

  it('offers the in-process connection for the admin port only', () => {
    const pod = labPod(plan.proxies.find((p) => p.variant === 'healthy') ?? plan.proxies[0]);
    expect(typeof pod.connect).toBe('function');
    expect(pod.connect!(15001)).toBeNull();
    const conn = pod.connect!(15000)!;
    expect(conn).toBeInstanceOf(Duplex);
    expect(conn).not.toBeInstanceOf(net.Socket);
    conn.destroy();
  });

  it('a reachable proxy: the same response bytes (/config_dump?mask=bootstrap.node), then the stream closes', async () => {
    const p = plan.proxies.find((x) => x.variant !== 'unreachable' && x.variant !== 'restarting')!;
    const inProcess = await portForward(lab.api, p, REQUEST);
    const overTcp = await portForward(tcpApi, p, REQUEST);
    expect(inProcess.errors).toEqual([]);
    expect(overTcp.errors).toEqual([]);
    expect(inProcess.closeCode).toBe(1000);
    expect(overTcp.closeCode).toBe(1000);
    expect(normalized(inProcess.data)).toBe(normalized(overTcp.data));
    const text = inProcess.data.toString('utf8');
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { configs: { bootstrap: { node: { id: string } } }[] };
    expect(body.configs[0].bootstrap.node.id).toContain(`${p.name}.${p.namespace}`);
  });

  it('keep-alive: two requests on one stream get both answers, as over TCP', async () => {
    const p = plan.proxies.find((x) => x.variant !== 'unreachable' && x.variant !== 'restarting')!;
    const two = 'GET /ready HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const inProcess = await portForward(lab.api, p, two);
    const overTcp = await portForward(tcpApi, p, two);
    const strip = (b: Buffer) => normalized(b).replace(/\r\nDate: [^\r]+/gi, '\r\nDate: -');
    expect(strip(inProcess.data)).toBe(strip(overTcp.data));
    expect(inProcess.data.toString().match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 404']);
  });

  it('an unreachable proxy: the refused connection on the error channel, word for word', async () => {
    const p = byVariant('unreachable');
    const inProcess = await portForward(lab.api, p, REQUEST);
    const overTcp = await portForward(tcpApi, p, REQUEST);
    const port = labPod(p).ports[15000];
    expect(inProcess.errors).toEqual([`error forwarding port 15000 to pod ${p.name}: connect ECONNREFUSED 127.0.0.1:${port}`]);
    expect(inProcess).toEqual(overTcp);
    expect(inProcess.data.length).toBe(0);
  });

  it('a restarting proxy stays on TCP: the connection is reset (no bytes; a request written after the FIN fails with EPIPE)', async () => {
    const p = byVariant('restarting');
    expect(labPod(p).connect!(15000)).toBeNull();
    const forwarded = await portForward(lab.api, p, REQUEST);
    expect(forwarded.data.length).toBe(0);
    expect(forwarded.closeCode).toBe(1000);
    // Over loopback TCP the request lands after the reset's FIN (the error); it may in theory land
    // after the close (no error): either way nothing of the request reaches a server.
    for (const e of forwarded.errors) expect(e).toBe(`error forwarding port 15000 to pod ${p.name}: This socket has been ended by the other party`);
  });
});
