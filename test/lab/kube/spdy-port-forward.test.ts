import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabPod } from '../../../src/lab/types.js';
import {
  dataFrame, FLAG_FIN, pingFrame, rstStreamFrame, SpdyFrameReader, SpdyHeaderCodec, SYN_REPLY, PING, type SpdyFrame,
} from '../../../src/lab/kube/spdy-framing.js';
import { serveSpdyPortForward } from '../../../src/lab/kube/spdy-port-forward.js';

/**
 * A SPDY client speaking to serveSpdyPortForward through an in-memory pipe, for a pod whose port
 * 15000 `dial` reaches (LabPod.connect), or, with null, a pod where nothing listens on it.
 */
function client(dial: ((port: number) => net.Socket) | null) {
  const pod = { name: 'p-1', namespace: 'ns', ports: dial ? { 15000: 1 } : {}, connect: dial ?? undefined } as unknown as LabPod;
  const codec = new SpdyHeaderCodec();
  const reader = new SpdyFrameReader();
  const frames: SpdyFrame[] = [];
  let closed = false;
  const session = serveSpdyPortForward({ write: (b) => frames.push(...reader.push(b)), close: () => { closed = true; } }, pod);
  const open = async (id: number, type: string, port: string, requestId?: string) => {
    const headers: [string, string][] = [['streamType', type], ['port', port]];
    if (requestId !== undefined) headers.push(['requestID', requestId]);
    session.receive(await codec.synStreamFrame(id, headers));
    await session.settled();
  };
  const dataOn = (id: number) => Buffer.concat(frames.filter((f) => !f.control && f.streamId === id).map((f) => f.data)).toString();
  const finOn = (id: number) => frames.some((f) => !f.control && f.streamId === id && (f.flags & FLAG_FIN) !== 0);
  const until = async (ok: () => boolean) => { for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5)); expect(ok()).toBe(true); };
  return { session, codec, frames, open, dataOn, finOn, until, closed: () => closed };
}

describe('SPDY/3.1 port-forward session (kubelet semantics)', () => {
  let echo: net.Server;
  let port = 0;
  beforeAll(async () => {
    echo = net.createServer((s) => s.on('data', (c) => s.write(`echo:${c.toString()}`)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    port = (echo.address() as net.AddressInfo).port;
  });
  afterAll(async () => { await new Promise((r) => echo.close(r)); });

  it('replies to each stream, relays the data stream to the pod port and back, and drops it on RST_STREAM', async () => {
    const dialled: number[] = [];
    let socket: net.Socket | null = null;
    const c = client((p) => { dialled.push(p); socket = net.connect(port, '127.0.0.1'); return socket; });
    await c.open(1, 'error', '15000', '0');
    await c.open(3, 'data', '15000', '0');
    const replies = c.frames.filter((f) => f.control && f.type === SYN_REPLY).map((f) => f.data.readUInt32BE(0));
    expect(replies).toEqual([1, 3]);
    expect(dialled).toEqual([15000]);
    c.session.receive(dataFrame(3, Buffer.from('GET /ready')));
    await c.until(() => c.dataOn(3) === 'echo:GET /ready');
    expect(c.dataOn(1)).toBe('');
    c.session.receive(rstStreamFrame(3, 5));
    await c.until(() => socket!.destroyed);
  });

  it('pairs streams without requestID by id (data = error + 2), and reports a refused port on the error stream', async () => {
    const c = client(null);
    await c.open(5, 'error', '15000');
    await c.open(7, 'data', '15000');
    expect(c.dataOn(5)).toMatch(/^error forwarding port 15000 to pod p-1, uid : .*connection refused$/);
    expect(c.finOn(5)).toBe(true);
    expect(c.finOn(7)).toBe(true);
  });

  it('echoes PING and ends the session on a frame it cannot read', async () => {
    const c = client(null);
    c.session.receive(pingFrame(42));
    await c.session.settled();
    const ping = c.frames.find((f) => f.control && f.type === PING);
    expect(ping?.data.readUInt32BE(0)).toBe(42);
    const bad = Buffer.from([0x80, 0x02, 0x00, 0x01, 0, 0, 0, 0]); // SPDY/2 SYN_STREAM
    c.session.receive(bad);
    await c.session.settled();
    expect(c.closed()).toBe(true);
  });

  it('keeps one header compression context per direction across frames', async () => {
    const a = new SpdyHeaderCodec();
    const b = new SpdyHeaderCodec();
    for (let i = 0; i < 3; i++) {
      const frame = await a.synStreamFrame(2 * i + 1, [['streamType', 'data'], ['port', '15000'], ['requestID', String(i)]]);
      const [parsed] = new SpdyFrameReader().push(frame);
      const { streamId, headers } = await b.parseSynStream(parsed.data);
      expect(streamId).toBe(2 * i + 1);
      expect(headers.get('requestid')).toEqual([String(i)]);
      expect(headers.get('streamtype')).toEqual(['data']);
    }
    // The second block alone is not a zlib stream: it only inflates within the same context.
    const later = await a.synStreamFrame(9, [['port', '1']]);
    await expect(new SpdyHeaderCodec().decode(later.subarray(18))).rejects.toThrow();
  });
});
