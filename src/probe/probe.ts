import https from 'node:https';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import type { AppEcho, ClientObservation, RequestRecord } from '../bundle/types.js';
import { MESH_VERIFY_ID_HEADER, REQUEST_ID_HEADER } from '../envoy/access-log-format.js';
import { echoHops } from '../bundle/correlation.js';
import { describePeerChain } from './chain.js';
import { parseAppEcho } from './app-echo.js';
import { offerTlsOptions, type ClientOffer } from './client-offer.js';

export interface ProbeOptions {
  /** The NLB-equivalent: where the TCP connection goes. */
  address: string;
  port: number;
  /** Public host name: SNI and Host header. */
  host: string;
  /** The CA the client trusts for `host` (the gateway credential's CA); null: system roots. */
  caPem: string | null;
  runId: string;
  /** Number of requests (default 10). */
  requests?: number;
  /** One new TLS connection per request instead of one kept-alive connection. */
  freshConnections?: boolean;
  path?: string;
  /** What the ClientHello offers (`path --tls-groups` / `--tls-ciphers`); absent: node:tls's defaults. */
  offer?: ClientOffer;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  now?: () => Date;
}

export interface ProbeResult {
  client: ClientObservation;
  requests: RequestRecord[];
}

/**
 * The id of request n (1-based) of a run, sent as x-mesh-verify-id (what access logs and echoes
 * are matched on) and as x-request-id (which an edge proxy may replace).
 */
export function requestIdFor(runId: string, n: number): string {
  return `mv-${runId}-${n}`;
}

interface Exchange {
  status: number | null;
  body: string;
  reused: boolean;
  handshake: Handshake | null;
  error: string | null;
}

type Handshake = Pick<ClientObservation, 'tlsVersion' | 'alpn' | 'cipher' | 'group' | 'peerChain' | 'authorized' | 'authorizationError'>;

/**
 * The external client: TLS to the NLB-equivalent with SNI and Host = the public host, then N
 * HTTP/1.1 requests, each with its own x-mesh-verify-id (and the same x-request-id). A chain that does not verify is recorded,
 * not fatal: a wrong certificate is evidence. Never throws for network failures.
 */
export async function runProbe(opts: ProbeOptions): Promise<ProbeResult> {
  const count = opts.requests ?? 10;
  const now = opts.now ?? (() => new Date());
  const path = opts.path ?? '/';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const client: ClientObservation = {
    connectedTo: { address: opts.address, port: opts.port },
    sni: opts.host,
    host: opts.host,
    tlsVersion: null,
    alpn: null,
    cipher: null,
    peerChain: [],
    authorized: false,
    authorizationError: null,
    error: null,
  };
  const agentOptions: https.AgentOptions = {
    keepAlive: !opts.freshConnections,
    maxSockets: 1,
    servername: opts.host,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
    ...offerTlsOptions(opts.offer),
    ...(opts.caPem ? { ca: [opts.caPem] } : {}),
  };
  const shared = opts.freshConnections ? null : new https.Agent(agentOptions);
  const records: RequestRecord[] = [];
  let observed = false;
  try {
    for (let n = 1; n <= count; n += 1) {
      const id = requestIdFor(opts.runId, n);
      const agent = shared ?? new https.Agent(agentOptions);
      const sentAt = now();
      const started = process.hrtime.bigint();
      const ex = await exchange(opts, agent, path, id, timeoutMs, !observed);
      if (!shared) agent.destroy();
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (!observed && ex.handshake) {
        Object.assign(client, ex.handshake);
        observed = true;
      }
      if (!observed && ex.error && client.error === null) client.error = ex.error;
      let response: AppEcho | null = null;
      let error = ex.error;
      if (ex.status !== null) {
        response = parseAppEcho(ex.body);
        if (!response && !error) error = `HTTP ${ex.status}: not the app's JSON answer: ${ex.body.slice(0, 120).replace(/\s+/g, ' ')}`;
      }
      const record: RequestRecord = {
        id, sentAt: sentAt.toISOString(), path, status: ex.status, error,
        durationMs: ex.status === null ? null : Math.round(durationMs * 10) / 10,
        reusedConnection: ex.reused, response,
      };
      record.requestIds = { sent: id, seen: echoHops(record) };
      records.push(record);
    }
  } finally {
    shared?.destroy();
  }
  if (observed) client.error = null;
  return { client, requests: records };
}

/** Handshake facts, read while the socket is open (right after the handshake). */
function readHandshake(socket: TLSSocket, host: string): Handshake {
  const authorized = socket.authorized === true;
  return {
    tlsVersion: socket.getProtocol() ?? null,
    alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
    cipher: socket.getCipher()?.name ?? null,
    group: (socket.getEphemeralKeyInfo() as { name?: string } | null)?.name ?? null,
    peerChain: describePeerChain(socket.getPeerCertificate(true)),
    authorized,
    authorizationError: authorized ? null : describeAuthorizationError(socket, host),
  };
}

/** Node gives a bare code ('UNABLE_TO_VERIFY_LEAF_SIGNATURE'); keep it first and say what it means. */
function describeAuthorizationError(socket: TLSSocket, host: string): string {
  const raw = socket.authorizationError as unknown;
  const code = raw instanceof Error ? ((raw as NodeJS.ErrnoException).code ?? raw.message) : String(raw ?? '');
  if (!code) return 'the server presented no verifiable certificate';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const why = checkServerIdentity(host, socket.getPeerCertificate());
    return `${code}: ${why?.message ?? `the certificate is not valid for ${host}`}`;
  }
  const meaning = VERIFY_MEANINGS[code];
  return meaning ? `${code}: ${meaning}` : code;
}

const VERIFY_MEANINGS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate does not chain to the trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate does not chain to the trusted CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a root that is not the trusted CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server presented a self-signed certificate',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet',
};

function exchange(opts: ProbeOptions, agent: https.Agent, path: string, id: string, timeoutMs: number,
  wantHandshake: boolean): Promise<Exchange> {
  return new Promise<Exchange>((resolve) => {
    let handshake: Handshake | null = null;
    let handshakeError: string | null = null;
    let settled = false;
    const done = (ex: Omit<Exchange, 'handshake'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...ex, handshake, error: ex.error ?? handshakeError });
    };
    const req = https.request({
      host: opts.address,
      port: opts.port,
      method: 'GET',
      path,
      agent,
      servername: opts.host,
      headers: { host: opts.host, [MESH_VERIFY_ID_HEADER]: id, [REQUEST_ID_HEADER]: id, 'user-agent': 'mesh-verify' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? null, body: Buffer.concat(chunks).toString('utf8'), reused: req.reusedSocket, error: null }));
      res.on('error', (err) => done({ status: res.statusCode ?? null, body: '', reused: req.reusedSocket, error: err.message }));
    });
    req.on('socket', (s) => {
      const tlsSocket = s as TLSSocket;
      if (!wantHandshake) return;
      // A reused socket finished its handshake long ago; a new one reports it on secureConnect.
      const read = () => {
        try {
          handshake = readHandshake(tlsSocket, opts.host);
        } catch (err) {
          handshakeError = `cannot read the TLS handshake: ${(err as Error).message}`;
        }
      };
      if (req.reusedSocket) read();
      else tlsSocket.once('secureConnect', read);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => done({ status: null, body: '', reused: req.reusedSocket, error: describeNetError(err, opts) }));
    req.end();
  });
}

function describeNetError(err: Error, opts: ProbeOptions): string {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${opts.address}:${opts.port}`;
  if (code === 'ECONNREFUSED') return `connection to ${where} refused`;
  if (code === 'ECONNRESET') return `connection to ${where} reset by the peer`;
  return `${where}: ${err.message}`;
}

