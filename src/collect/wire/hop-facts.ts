import type { WireHop } from '../../bundle/types.js';
import type { TcpSegment } from './pcap.js';

/**
 * From captured TCP segments to the facts of each hop: connections to the hop's destination, the
 * run's marker in their cleartext bytes, TLS records, cleartext HTTP. Pure.
 */

export interface HopTarget {
  /** SegmentSpec.id. */
  segment: string;
  address: string;
  port: number;
  /** Where the hop's packets are seen (default: the loopback interface of this machine's namespace). */
  at?: CapturePoint;
}

/** An interface to capture on, in a network namespace (a pod's: its path for nsenter --net=) or this process's. */
export interface CapturePoint {
  /** How reports name it (`lo`, `bff pod: lo`). */
  name: string;
  interface: string;
  netns?: string;
}

/** One direction of one connection, in capture order, retransmissions dropped. */
interface Direction { chunks: Buffer[]; seqs: Set<string> }
interface Connection { client: string; syn: boolean; c2s: Direction; s2c: Direction }

const MAX_MARKERS_LISTED = 20;
const SAMPLE_CHARS = 160;
/** RFC 8446 5.1: a record's length never exceeds 2^14 + 256 (ciphertext); be lenient up to 2^14 + 2048 (TLS 1.2). */
const MAX_RECORD = 16384 + 2048;
const HTTP_REQUEST_LINE = /^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE) \S+ HTTP\/1\.[01]\r\n/;

function connectionsTo(segments: readonly TcpSegment[], hop: HopTarget): Connection[] {
  const byKey = new Map<string, Connection>();
  for (const s of segments) {
    const toServer = s.dst === hop.address && s.dport === hop.port;
    const fromServer = s.src === hop.address && s.sport === hop.port;
    if (!toServer && !fromServer) continue;
    const client = toServer ? `${s.src}:${s.sport}` : `${s.dst}:${s.dport}`;
    let c = byKey.get(client);
    if (!c) {
      c = { client, syn: false, c2s: { chunks: [], seqs: new Set() }, s2c: { chunks: [], seqs: new Set() } };
      byKey.set(client, c);
    }
    if (toServer && s.syn) c.syn = true;
    if (s.payload.length === 0) continue;
    const d = toServer ? c.c2s : c.s2c;
    const key = `${s.seq}/${s.payload.length}`;
    if (d.seqs.has(key)) continue; // a retransmission
    d.seqs.add(key);
    d.chunks.push(s.payload);
  }
  return [...byKey.values()];
}

/** The longest prefix all markers share. */
function commonPrefix(xs: readonly string[]): string {
  if (xs.length === 0) return '';
  let p = xs[0];
  for (const x of xs) while (!x.startsWith(p)) p = p.slice(0, -1);
  return p;
}

const TOKEN = /[A-Za-z0-9._~-]/;

interface MarkerSearch { hits: number; seen: Set<string>; firstAt: number | null }

/** Occurrences of the marker values in `buf` (each as a whole token). */
export function findMarkers(buf: Buffer, markers: readonly string[]): MarkerSearch {
  const out: MarkerSearch = { hits: 0, seen: new Set(), firstAt: null };
  if (markers.length === 0 || buf.length === 0) return out;
  const set = new Set(markers);
  const prefix = commonPrefix(markers);
  const needles = prefix.length >= 4 ? [prefix] : [...set];
  const text = buf.toString('latin1');
  for (const needle of needles) {
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      if (i > 0 && TOKEN.test(text[i - 1])) continue;
      let end = i + needle.length;
      while (end < text.length && TOKEN.test(text[end])) end += 1;
      const token = text.slice(i, end);
      if (!set.has(token)) continue;
      out.hits += 1;
      out.seen.add(token);
      if (out.firstAt === null || i < out.firstAt) out.firstAt = i;
    }
  }
  return out;
}

interface TlsCount { handshakeRecords: number; clientHellos: number; applicationDataRecords: number; versions: Set<string> }

/**
 * Walk the stream as TLS records (RFC 8446 5.1 / RFC 5246 6.2: type 20-24, version 3.x, 2-byte
 * length) from its first byte, while the headers are valid. A cleartext stream stops at once.
 */
function countTlsRecords(stream: Buffer, into: TlsCount): void {
  let off = 0;
  while (off + 5 <= stream.length) {
    const type = stream[off];
    const major = stream[off + 1];
    const minor = stream[off + 2];
    const len = stream.readUInt16BE(off + 3);
    if (type < 20 || type > 24 || major !== 3 || minor > 4 || len === 0 || len > MAX_RECORD) return;
    into.versions.add(`0x03${minor.toString(16).padStart(2, '0')}`);
    if (type === 22) {
      into.handshakeRecords += 1;
      if (off + 5 < stream.length && stream[off + 5] === 1) into.clientHellos += 1;
    } else if (type === 23) into.applicationDataRecords += 1;
    off += 5 + len;
  }
}

function printable(buf: Buffer, at: number): string {
  const start = Math.max(0, at - 40);
  return buf.subarray(start, start + SAMPLE_CHARS).toString('latin1').replace(/\r\n/g, ' | ').replace(/[^\x20-\x7e]/g, '.');
}

/** The facts of one hop from the capture's TCP segments and the run's marker values. */
export function hopFacts(segments: readonly TcpSegment[], hop: HopTarget, markers: readonly string[]): WireHop {
  const conns = connectionsTo(segments, hop);
  const tls: TlsCount = { handshakeRecords: 0, clientHellos: 0, applicationDataRecords: 0, versions: new Set() };
  let payloadBytes = 0;
  let hits = 0;
  const seen = new Set<string>();
  let sample: string | null = null;
  const otherSources = new Set<string>();
  let plainConnections = 0;
  let withoutMarker = 0;
  for (const c of conns) {
    const c2s = Buffer.concat(c.c2s.chunks);
    const s2c = Buffer.concat(c.s2c.chunks);
    payloadBytes += c2s.length + s2c.length;
    let connectionHits = 0;
    for (const stream of [c2s, s2c]) {
      countTlsRecords(stream, tls);
      const m = findMarkers(stream, markers);
      connectionHits += m.hits;
      for (const v of m.seen) seen.add(v);
      if (sample === null && m.firstAt !== null) sample = printable(stream, m.firstAt);
    }
    hits += connectionHits;
    if (HTTP_REQUEST_LINE.test(c2s.subarray(0, 2048).toString('latin1'))) {
      plainConnections += 1;
      if (connectionHits === 0) {
        withoutMarker += 1;
        otherSources.add(c.client.slice(0, c.client.lastIndexOf(':')));
      }
    }
  }
  return {
    segment: hop.segment,
    address: hop.address,
    port: hop.port,
    connections: conns.length,
    payloadBytes,
    markerHits: hits,
    markersSeen: [...seen].sort().slice(0, MAX_MARKERS_LISTED),
    tls: { handshakeRecords: tls.handshakeRecords, clientHellos: tls.clientHellos, applicationDataRecords: tls.applicationDataRecords, versions: [...tls.versions].sort() },
    plaintextHttp: { connections: plainConnections, withoutMarker, otherSources: [...otherSources].sort() },
    sample,
  };
}

/** A pcap-filter expression that matches exactly the hops' destinations (both directions). */
export function captureFilter(hops: readonly HopTarget[]): string {
  const unique = [...new Map(hops.map((h) => [`${h.address}:${h.port}`, h])).values()];
  const one = (h: HopTarget) => `(dst host ${h.address} and dst port ${h.port}) or (src host ${h.address} and src port ${h.port})`;
  return `tcp and (${unique.map(one).join(' or ')})`;
}
