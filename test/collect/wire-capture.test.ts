import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parsePcap, type TcpSegment } from '../../src/collect/wire/pcap.js';
import { captureFilter, findMarkers, hopFacts, type HopTarget } from '../../src/collect/wire/hop-facts.js';
import { startWireCapture } from '../../src/collect/wire/capture.js';

/**
 * The wire witness's pure parts on hand-built pcap files (pcap-savefile(5): 24-byte header,
 * 16-byte record headers; Ethernet + IPv4 + TCP, as tcpdump writes for Linux `lo`), and the
 * no-capture-rights path of the capture itself.
 */
function ipv4(a: string): number[] { return a.split('.').map(Number); }

function frame(src: string, sport: number, dst: string, dport: number, seq: number, payload: Buffer, flags = 0x18): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(sport, 0); tcp.writeUInt16BE(dport, 2); tcp.writeUInt32BE(seq >>> 0, 4);
  tcp[12] = 5 << 4; tcp[13] = flags;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45; ip.writeUInt16BE(20 + 20 + payload.length, 2); ip[8] = 64; ip[9] = 6;
  Buffer.from(ipv4(src)).copy(ip, 12); Buffer.from(ipv4(dst)).copy(ip, 16);
  const eth = Buffer.alloc(14); eth.writeUInt16BE(0x0800, 12);
  return Buffer.concat([eth, ip, tcp, payload]);
}

function pcapFile(frames: Buffer[], opts: { bigEndian?: boolean; cutLast?: number } = {}): Buffer {
  const w32 = (b: Buffer, v: number, o: number) => (opts.bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const head = Buffer.alloc(24);
  w32(head, 0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6); w32(head, 262144, 16); w32(head, 1, 20);
  if (opts.bigEndian) { head.writeUInt16BE(2, 4); head.writeUInt16BE(4, 6); }
  const recs = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    w32(r, 1_700_000_000 + i, 0); w32(r, 500_000, 4); w32(r, f.length, 8); w32(r, f.length, 12);
    return Buffer.concat([r, f]);
  });
  const all = Buffer.concat([head, ...recs]);
  return opts.cutLast ? all.subarray(0, all.length - opts.cutLast) : all;
}

/** A real ClientHello, as node:tls sends it (the first bytes a TLS client writes). */
async function realClientHello(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      sock.once('data', (c: Buffer) => { resolve(c); sock.destroy(); server.close(); });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      connect({ host: '127.0.0.1', port, servername: 'web.mesh-verify.test' }).on('error', () => {}).once('close', () => {});
    });
    server.on('error', reject);
  });
}

const GW: HopTarget = { segment: 'gateway->bff-sidecar', address: '127.9.9.11', port: 8080 };
const APP: HopTarget = { segment: 'bff-sidecar->bff', address: '127.9.9.111', port: 8080 };
const MARKERS = ['mv-run1-1', 'mv-run1-2'];

describe('pcap reader', () => {
  it('reads Ethernet/IPv4/TCP segments in both byte orders and notices a cut-off last record', () => {
    const f = [frame('127.0.0.1', 40000, '127.9.9.111', 8080, 1000, Buffer.from('GET / HTTP/1.1\r\n\r\n'))];
    for (const bigEndian of [false, true]) {
      const r = parsePcap(pcapFile(f, { bigEndian }));
      expect(r.linkType).toBe(1);
      expect(r.truncated).toBe(false);
      expect(r.segments).toHaveLength(1);
      const s = r.segments[0];
      expect([s.src, s.sport, s.dst, s.dport, s.seq, s.payload.toString('latin1')]).toEqual(['127.0.0.1', 40000, '127.9.9.111', 8080, 1000, 'GET / HTTP/1.1\r\n\r\n']);
      expect(s.ts).toBeCloseTo(1_700_000_000.5, 3);
    }
    const cut = parsePcap(pcapFile([...f, ...f], { cutLast: 5 }));
    expect([cut.segments.length, cut.truncated]).toEqual([1, true]);
    expect(parsePcap(Buffer.alloc(0)).segments).toEqual([]);
    expect(() => parsePcap(Buffer.from('0a0d0d0a000000000000000000000000000000000000000000', 'hex'))).toThrow(/pcapng/);
    expect(() => parsePcap(Buffer.alloc(30, 7))).toThrow(/not a pcap file/);
  });
});

describe('hop facts', () => {
  it('finds the run\'s marker values as whole tokens only', () => {
    const m = findMarkers(Buffer.from('x-mesh-verify-id: mv-run1-1\r\nx: mv-run1-10 mv-run1-2x amv-run1-2 "mv-run1-2"'), MARKERS);
    expect([m.hits, [...m.seen].sort()]).toEqual([2, ['mv-run1-1', 'mv-run1-2']]);
    expect(findMarkers(Buffer.from('mv-run1-1'), []).hits).toBe(0);
  });

  it('sees the marker in a cleartext hop and TLS records, not the marker, in a TLS hop', async () => {
    const hello = await realClientHello();
    expect(hello[0]).toBe(0x16);
    const serverData = Buffer.concat([Buffer.from([0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0, 0, 0]), Buffer.from([0x17, 0x03, 0x03, 0x00, 0x08]), Buffer.alloc(8, 0xab)]);
    const req = Buffer.from('GET / HTTP/1.1\r\nhost: bff\r\nx-mesh-verify-id: mv-run1-1\r\n\r\n');
    const segs: TcpSegment[] = parsePcap(pcapFile([
      frame('127.0.0.6', 50000, GW.address, 8080, 99, Buffer.alloc(0), 0x02), // SYN
      frame('127.0.0.6', 50000, GW.address, 8080, 100, hello),
      frame(GW.address, 8080, '127.0.0.6', 50000, 7000, serverData),
      frame('127.0.0.6', 50000, GW.address, 8080, 100, hello), // a retransmission: counted once
      frame('127.0.0.1', 41000, APP.address, 8080, 5, req),
      frame('127.0.0.1', 41000, '127.9.9.112', 8080, 5, req), // another destination: not this hop
    ])).segments;
    const gw = hopFacts(segs, GW, MARKERS);
    expect(gw).toMatchObject({ connections: 1, markerHits: 0, markersSeen: [], sample: null, plaintextHttp: { connections: 0 } });
    expect(gw.tls).toMatchObject({ clientHellos: 1, handshakeRecords: 2, applicationDataRecords: 1 });
    expect(gw.tls.versions).toContain('0x0303');
    expect(gw.payloadBytes).toBe(hello.length + serverData.length);

    const app = hopFacts(segs, APP, MARKERS);
    expect(app).toMatchObject({ connections: 1, markerHits: 1, markersSeen: ['mv-run1-1'], plaintextHttp: { connections: 1, withoutMarker: 0, otherSources: [] } });
    expect(app.tls).toEqual({ handshakeRecords: 0, clientHellos: 0, applicationDataRecords: 0, versions: [] });
    expect(app.sample).toContain('x-mesh-verify-id: mv-run1-1');
  });

  it('names cleartext HTTP connections that carry none of the run\'s markers (another caller)', () => {
    const segs = parsePcap(pcapFile([
      frame('127.9.9.13', 42000, GW.address, 8080, 1, Buffer.from('GET /legacy HTTP/1.1\r\nhost: svc\r\n\r\n')),
    ])).segments;
    expect(hopFacts(segs, GW, MARKERS).plaintextHttp).toEqual({ connections: 1, withoutMarker: 1, otherSources: ['127.9.9.13'] });
  });

  it('filters the capture to exactly the hops\' destinations, each once', () => {
    expect(captureFilter([GW, APP, { ...GW, segment: 'again' }])).toBe(
      'tcp and ((dst host 127.9.9.11 and dst port 8080) or (src host 127.9.9.11 and src port 8080) or (dst host 127.9.9.111 and dst port 8080) or (src host 127.9.9.111 and src port 8080))');
  });
});

describe('capture without rights or tool', () => {
  it('says in one line that the capture is unavailable and what to do, and returns an unavailable wire level', async () => {
    const s = await startWireCapture({ hops: [GW], tool: '/nonexistent/tcpdump' });
    expect(s.unavailable).toMatch(/^packet capture unavailable: \/nonexistent\/tcpdump not found \(fix: install tcpdump .*\); the wire level is skipped$/);
    expect(s.unavailable).not.toContain('\n');
    const w = await s.stop(MARKERS);
    expect(w).toMatchObject({ status: 'unavailable', reason: s.unavailable, hops: [], marker: { header: 'x-mesh-verify-id', values: 2, example: 'mv-run1-1' } });
  });

  it('names what tcpdump said when it is there but may not capture (not root)', async () => {
    // A stand-in that answers --version and then fails as tcpdump 4.99 does without CAP_NET_RAW.
    const dir = mkdtempSync(join(tmpdir(), 'mv-fake-tcpdump-'));
    try {
      const tool = join(dir, 'tcpdump');
      writeFileSync(tool, [
        '#!/bin/sh',
        'if [ "$1" = --version ]; then echo "tcpdump version 4.99.3"; exit 0; fi',
        'echo "tcpdump: lo: You don\'t have permission to perform this capture on that device" >&2',
        'echo "(socket: Operation not permitted)" >&2',
        'exit 1',
      ].join('\n'));
      chmodSync(tool, 0o755);
      const s = await startWireCapture({ hops: [GW], tool });
      expect(s.unavailable).toBe(`packet capture unavailable: ${tool} cannot capture on lo: tcpdump: lo: You don't have permission to perform this capture on that device (socket: Operation not permitted) (fix: install tcpdump (Debian: apt-get install -y tcpdump, or scripts/setup-components.sh capture) and run as root (capturing needs CAP_NET_RAW)); the wire level is skipped`);
      expect((await s.stop([])).tool).toBe('tcpdump 4.99.3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
