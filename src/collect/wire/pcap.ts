/**
 * A reader of classic pcap files (what `tcpdump -w` writes), enough for the wire witness: IPv4
 * and IPv6 TCP segments with their payload. Pure.
 *
 * Written here rather than taken from npm: `pcap` (3.x) is a native libpcap binding (a native
 * build), and `pcap-parser` (0.2.1, last published 2013) is unmaintained and stream-only. The
 * format is small: https://www.tcpdump.org/manpages/pcap-savefile.5.html (a 24-byte file header,
 * then per packet a 16-byte record header and the captured bytes), link types from
 * https://www.tcpdump.org/linktypes.html (Linux `lo` is LINKTYPE_ETHERNET, 1).
 */

export interface TcpSegment {
  /** Capture time, seconds since the epoch (fractional). */
  ts: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
  payload: Buffer;
}

export interface PcapRead {
  linkType: number;
  segments: TcpSegment[];
  /** Records that were not IPv4/IPv6 TCP (or were cut short). */
  skipped: number;
  /** The file ended inside a record (a capture stopped mid-write). */
  truncated: boolean;
}

const LINK_NULL = 0;
const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_LOOP = 108;
const LINK_LINUX_SLL = 113;
const LINK_LINUX_SLL2 = 276;

/** Parse a pcap file; throws on a file that is not pcap (pcapng is not read: tcpdump -w writes pcap). */
export function parsePcap(buf: Buffer): PcapRead {
  if (buf.length < 24) {
    if (buf.length === 0) return { linkType: LINK_ETHERNET, segments: [], skipped: 0, truncated: false };
    throw new Error(`not a pcap file: ${buf.length} bytes, shorter than the 24-byte header`);
  }
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) { le = true; nano = magicLE === 0xa1b23c4d; }
  else if (buf.readUInt32BE(0) === 0xa1b2c3d4 || buf.readUInt32BE(0) === 0xa1b23c4d) { le = false; nano = buf.readUInt32BE(0) === 0xa1b23c4d; }
  else if (magicLE === 0x0a0d0d0a) throw new Error('a pcapng file: write classic pcap (tcpdump -w does)');
  else throw new Error(`not a pcap file (magic 0x${magicLE.toString(16)})`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  const segments: TcpSegment[] = [];
  let skipped = 0;
  let truncated = false;
  let off = 24;
  while (off < buf.length) {
    if (off + 16 > buf.length) { truncated = true; break; }
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    off += 16;
    if (off + incl > buf.length) { truncated = true; break; }
    const frame = buf.subarray(off, off + incl);
    off += incl;
    const ip = networkLayer(frame, linkType, le);
    const seg = ip ? tcpOf(ip.proto, ip.bytes) : null;
    if (!seg) { skipped += 1; continue; }
    segments.push({ ts: sec + frac / (nano ? 1e9 : 1e6), ...seg });
  }
  return { linkType, segments, skipped, truncated };
}

/** The IP packet inside a link-layer frame, or null. */
function networkLayer(f: Buffer, linkType: number, le: boolean): { proto: 4 | 6; bytes: Buffer } | null {
  let etherType: number;
  let rest: Buffer;
  switch (linkType) {
    case LINK_ETHERNET: {
      if (f.length < 14) return null;
      etherType = f.readUInt16BE(12);
      rest = f.subarray(14);
      if (etherType === 0x8100 && f.length >= 18) { etherType = f.readUInt16BE(16); rest = f.subarray(18); }
      break;
    }
    case LINK_LINUX_SLL: if (f.length < 16) return null; etherType = f.readUInt16BE(14); rest = f.subarray(16); break;
    case LINK_LINUX_SLL2: if (f.length < 20) return null; etherType = f.readUInt16BE(0); rest = f.subarray(20); break;
    case LINK_NULL:
    case LINK_LOOP: {
      if (f.length < 4) return null;
      // The address family, in the writer's byte order (NULL) or network order (LOOP).
      const family = linkType === LINK_LOOP ? f.readUInt32BE(0) : le ? f.readUInt32LE(0) : f.readUInt32BE(0);
      etherType = family === 2 ? 0x0800 : [10, 24, 28, 30].includes(family) ? 0x86dd : 0;
      rest = f.subarray(4);
      break;
    }
    case LINK_RAW: etherType = f.length > 0 && f[0] >> 4 === 6 ? 0x86dd : 0x0800; rest = f; break;
    default: return null;
  }
  if (etherType === 0x0800) return { proto: 4, bytes: rest };
  if (etherType === 0x86dd) return { proto: 6, bytes: rest };
  return null;
}

function ipv6Text(b: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  return parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function tcpOf(proto: 4 | 6, p: Buffer): Omit<TcpSegment, 'ts'> | null {
  let src: string;
  let dst: string;
  let tcp: Buffer;
  if (proto === 4) {
    if (p.length < 20 || p[0] >> 4 !== 4) return null;
    const ihl = (p[0] & 0x0f) * 4;
    if (p[9] !== 6 || ihl < 20) return null;
    // Fragments (offset or more-fragments) are not reassembled; loopback does not fragment.
    if ((p.readUInt16BE(6) & 0x3fff) !== 0) return null;
    const total = Math.min(p.readUInt16BE(2) || p.length, p.length);
    src = `${p[12]}.${p[13]}.${p[14]}.${p[15]}`;
    dst = `${p[16]}.${p[17]}.${p[18]}.${p[19]}`;
    tcp = p.subarray(ihl, total);
  } else {
    if (p.length < 40 || p[0] >> 4 !== 6 || p[6] !== 6) return null; // no extension headers
    src = ipv6Text(p.subarray(8, 24));
    dst = ipv6Text(p.subarray(24, 40));
    tcp = p.subarray(40, Math.min(40 + p.readUInt16BE(4), p.length));
  }
  if (tcp.length < 20) return null;
  const dataOff = (tcp[12] >> 4) * 4;
  if (dataOff < 20 || dataOff > tcp.length) return null;
  const flags = tcp[13];
  return {
    src, dst, sport: tcp.readUInt16BE(0), dport: tcp.readUInt16BE(2), seq: tcp.readUInt32BE(4),
    syn: (flags & 0x02) !== 0, fin: (flags & 0x01) !== 0, rst: (flags & 0x04) !== 0,
    payload: tcp.subarray(dataOff),
  };
}
