import zlib from 'node:zlib';

/**
 * SPDY/3.1 framing, as much as Kubernetes streaming needs (kubectl port-forward over SPDY, or
 * SPDY tunnelled in a WebSocket): data frames, SYN_STREAM / SYN_REPLY / RST_STREAM / PING /
 * GOAWAY, and name/value header blocks compressed with zlib and the SPDY/3 dictionary, one
 * compression context per direction for the life of the connection (draft-mbelshe-httpbis-spdy-00
 * section 2.6.10.1). Flow control (WINDOW_UPDATE, SETTINGS) is read and ignored, as Go's
 * spdystream does.
 */

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const PING = 6;
export const GOAWAY = 7;
/** RST_STREAM status code used here. */
export const RST_PROTOCOL_ERROR = 1;

const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const DICTIONARY_TAIL = '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505'
  + '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden'
  + '404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable'
  + 'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT'
  + 'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,'
  + 'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/** The SPDY/3 header compression dictionary: length-prefixed words, then a run of text. */
export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.map((w) => {
    const b = Buffer.alloc(4 + w.length);
    b.writeUInt32BE(w.length, 0);
    b.write(w, 4, 'latin1');
    return b;
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

export type Headers = Map<string, string[]>;

export type SpdyFrame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; type: number; flags: number; data: Buffer };

/**
 * Run one block through a long-lived zlib stream and return what it produced, with a sync flush
 * (every header block ends on a byte boundary, the context carries on). Calls must not overlap.
 */
function through(z: zlib.Inflate | zlib.Deflate, block: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    z.once('error', reject);
    z.write(block);
    z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      z.off('error', reject);
      const out: Buffer[] = [];
      for (let c = z.read() as Buffer | null; c !== null; c = z.read() as Buffer | null) out.push(c);
      resolve(Buffer.concat(out));
    });
  });
}

/** Splits a byte stream into SPDY frames (frames may arrive split or several per chunk). */
export class SpdyFrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): SpdyFrame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: SpdyFrame[] = [];
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUIntBE(5, 3);
      if (this.buffered.length < 8 + length) break;
      const head = this.buffered.readUInt32BE(0);
      const flags = this.buffered[4];
      const data = this.buffered.subarray(8, 8 + length);
      if (head & 0x80000000) {
        const version = (head >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new Error(`SPDY version ${version} is not supported (3 is)`);
        frames.push({ control: true, type: head & 0xffff, flags, data });
      } else {
        frames.push({ control: false, streamId: head & 0x7fffffff, flags, data });
      }
      this.buffered = this.buffered.subarray(8 + length);
    }
    return frames;
  }
}

function frameHeader(first: number, flags: number, length: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(first >>> 0, 0);
  h[4] = flags;
  h.writeUIntBE(length, 5, 3);
  return h;
}

function controlFrame(type: number, flags: number, body: Buffer): Buffer {
  return Buffer.concat([frameHeader((0x8000 | SPDY_VERSION) * 0x10000 + type, flags, body.length), body]);
}

export function dataFrame(streamId: number, data: Buffer, fin = false): Buffer {
  return Buffer.concat([frameHeader(streamId & 0x7fffffff, fin ? FLAG_FIN : 0, data.length), data]);
}

export function rstStreamFrame(streamId: number, status: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(streamId & 0x7fffffff, 0);
  b.writeUInt32BE(status, 4);
  return controlFrame(RST_STREAM, 0, b);
}

export function pingFrame(id: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(id >>> 0, 0);
  return controlFrame(PING, 0, b);
}

export function goawayFrame(lastGoodStreamId: number, status = 0): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(lastGoodStreamId & 0x7fffffff, 0);
  b.writeUInt32BE(status, 4);
  return controlFrame(GOAWAY, 0, b);
}

function encodeNameValues(headers: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(headers.length, 0);
  parts.push(n);
  for (const [name, value] of headers) {
    for (const s of [name.toLowerCase(), value]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length, 0);
      parts.push(len, b);
    }
  }
  return Buffer.concat(parts);
}

function decodeNameValues(raw: Buffer): Headers {
  const out: Headers = new Map();
  let off = 0;
  const take = (): string => {
    if (off + 4 > raw.length) throw new Error('SPDY header block is truncated');
    const len = raw.readUInt32BE(off);
    off += 4;
    if (off + len > raw.length) throw new Error('SPDY header block is truncated');
    const s = raw.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  if (raw.length < 4) throw new Error('SPDY header block is truncated');
  const count = raw.readUInt32BE(0);
  off = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toLowerCase();
    out.set(name, [...(out.get(name) ?? []), ...take().split('\0')]);
  }
  return out;
}

/**
 * One side of a SPDY connection's header compression: inflates the peer's header blocks and
 * deflates ours, each through one zlib context for the whole connection. Asynchronous (node:zlib
 * has no synchronous streaming API): callers serialise their calls.
 */
export class SpdyHeaderCodec {
  private readonly inflater = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  private readonly deflater = zlib.createDeflate({ dictionary: SPDY_DICTIONARY });

  async decode(block: Buffer): Promise<Headers> {
    return decodeNameValues(block.length === 0 ? Buffer.alloc(0) : await through(this.inflater, block));
  }

  encode(headers: [string, string][]): Promise<Buffer> {
    return through(this.deflater, encodeNameValues(headers));
  }

  /** SYN_STREAM body: stream id, associated id, priority, then the header block. */
  async parseSynStream(data: Buffer): Promise<{ streamId: number; headers: Headers }> {
    if (data.length < 10) throw new Error('SPDY SYN_STREAM is truncated');
    return { streamId: data.readUInt32BE(0) & 0x7fffffff, headers: await this.decode(data.subarray(10)) };
  }

  async synStreamFrame(streamId: number, headers: [string, string][], fin = false): Promise<Buffer> {
    const head = Buffer.alloc(10);
    head.writeUInt32BE(streamId & 0x7fffffff, 0);
    return controlFrame(SYN_STREAM, fin ? FLAG_FIN : 0, Buffer.concat([head, await this.encode(headers)]));
  }

  async synReplyFrame(streamId: number, headers: [string, string][], fin = false): Promise<Buffer> {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(streamId & 0x7fffffff, 0);
    return controlFrame(SYN_REPLY, fin ? FLAG_FIN : 0, Buffer.concat([head, await this.encode(headers)]));
  }

  close(): void {
    this.inflater.on('error', () => undefined).destroy();
    this.deflater.on('error', () => undefined).destroy();
  }
}
