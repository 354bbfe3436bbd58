import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket, ConnectionOptions } from 'node:tls';
import type { LabProxy } from './lab-proxy.js';
import { splitSubjectAltName } from '../../envoy/certificate.js';

/** How an Envoy cluster reaches its endpoint right now (from the MeshState). */
export interface UpstreamRoute {
  host: string;
  port: number;
  /** Istio mTLS (tlsMode-istio transport socket) or null for raw_buffer. */
  tls: {
    certPem: string;
    keyPem: string;
    rootPem: string;
    sni: string;
    alpn: string[];
    /** match_subject_alt_names exact. */
    expectedSan: string;
  } | null;
}

export interface UpstreamResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  upstreamHost: string;
  upstreamLocalAddress: string | null;
  upstreamPeerUriSan: string | null;
  upstreamTlsVersion: string | null;
  /** Set when no response came back: Envoy's response flag and transport failure reason. */
  failure: { flags: string[]; reason: string | null; detail: string } | null;
}

/** Envoy (BoringSSL) wording for a failed certificate verification. */
const VERIFY_DETAIL: Record<string, string> = {
  CERT_HAS_EXPIRED: 'X509_verify_cert: certificate verification error at depth 0: certificate has expired',
  CERT_NOT_YET_VALID: 'X509_verify_cert: certificate verification error at depth 0: certificate is not yet valid',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'X509_verify_cert: certificate verification error at depth 0: unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'X509_verify_cert: certificate verification error at depth 0: unable to get local issuer certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'X509_verify_cert: certificate verification error at depth 1: self signed certificate in certificate chain',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'X509_verify_cert: certificate verification error at depth 0: self signed certificate',
  ERR_TLS_CERT_ALTNAME_INVALID: 'SAN matcher',
};

function tlsFailureReason(code: string | undefined): string {
  const detail = code ? VERIFY_DETAIL[code] : undefined;
  if (detail) return `TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify cert failed: ${detail}:TLS_error_end`;
  return `TLS_error:|268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end`;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

export function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/**
 * An Envoy cluster with one endpoint: pooled keep-alive connections (so N requests may need
 * fewer handshakes), upstream TLS per the route, and the cluster stats Envoy keeps
 * (`cluster.<name>.upstream_cx_total`, `.ssl.handshake`, `.ssl.fail_verify_error`, ...).
 * Connect failures are retried twice, as Istio's default retry policy does.
 */
export class UpstreamCluster {
  private agent: http.Agent | null = null;
  private agentKey = '';
  /** Connections whose TCP (and TLS) set-up completed. */
  private readonly ready = new WeakSet<Socket>();
  private readonly hostCounters = { cx_total: 0, cx_connect_fail: 0, rq_total: 0, rq_success: 0, rq_error: 0 };

  constructor(readonly name: string, private readonly proxy: LabProxy, private readonly route: () => UpstreamRoute) {
    const s = (k: string): string => `cluster.${name}.${k}`;
    proxy.stats.declare(s('upstream_cx_total'), s('upstream_cx_connect_fail'), s('upstream_rq_total'), s('ssl.handshake'), s('ssl.connection_error'), s('ssl.fail_verify_error'), s('ssl.fail_verify_san'), s('ssl.fail_verify_no_cert'));
    proxy.stats.setGauge(s('upstream_cx_active'), 0);
    proxy.stats.inc('cluster_manager.cluster_added');
    proxy.clusters.set(name, {
      name,
      endpoint: () => ({ address: this.route().host, port: this.route().port }),
      counters: () => ({ ...this.hostCounters }),
    });
  }

  private stat(key: string, by = 1): void {
    this.proxy.stats.inc(`cluster.${this.name}.${key}`, by);
  }

  /** Drop pooled connections (config or certificate change). */
  reset(): void {
    this.agent?.destroy();
    this.agent = null;
    this.agentKey = '';
  }

  private agentFor(route: UpstreamRoute): http.Agent {
    const key = JSON.stringify([route.host, route.port, route.tls?.sni, route.tls?.expectedSan, route.tls?.certPem, route.tls?.rootPem]);
    if (this.agent && key === this.agentKey) return this.agent;
    this.reset();
    this.agentKey = key;
    const count = (socket: Socket, tls: boolean): void => {
      this.stat('upstream_cx_total');
      this.hostCounters.cx_total += 1;
      this.proxy.stats.addGauge(`cluster.${this.name}.upstream_cx_active`, 1);
      let secure = false;
      socket.once('close', () => this.proxy.stats.addGauge(`cluster.${this.name}.upstream_cx_active`, -1));
      if (!tls) {
        socket.once('connect', () => this.ready.add(socket));
        return;
      }
      const t = socket as TLSSocket;
      t.once('secureConnect', () => {
        secure = true;
        this.ready.add(t);
        this.stat('ssl.handshake');
        const version = t.getProtocol();
        if (version) this.stat(`ssl.versions.${version}`);
        const cipher = t.getCipher()?.standardName;
        if (cipher) this.stat(`ssl.ciphers.${cipher}`);
      });
      t.once('error', (err: NodeJS.ErrnoException) => {
        if (secure) return;
        this.stat('ssl.connection_error');
        if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') this.stat('ssl.fail_verify_san');
        else if (err.code && VERIFY_DETAIL[err.code]) this.stat('ssl.fail_verify_error');
      });
    };
    const counted = (agent: http.Agent, tls: boolean): http.Agent => {
      const create = agent.createConnection.bind(agent) as (o: object, c: unknown) => Socket;
      agent.createConnection = ((opts: object, cb: unknown) => {
        const socket = create(opts, cb);
        count(socket, tls);
        return socket;
      }) as typeof agent.createConnection;
      this.agent = agent;
      return agent;
    };
    if (!route.tls) return counted(new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 }), false);
    const t = route.tls;
    return counted(new https.Agent({
      keepAlive: true,
      maxSockets: 64,
      timeout: 60_000,
      cert: t.certPem,
      key: t.keyPem,
      ca: t.rootPem,
      servername: t.sni,
      ALPNProtocols: t.alpn,
      checkServerIdentity: (_host, cert) => {
        const { uriSans } = splitSubjectAltName(cert.subjectaltname);
        if (uriSans.includes(t.expectedSan)) return undefined;
        const err = new Error(`peer SAN [${uriSans.join(', ')}] does not match ${t.expectedSan}`) as NodeJS.ErrnoException;
        err.code = 'ERR_TLS_CERT_ALTNAME_INVALID';
        return err;
      },
    } as https.AgentOptions & ConnectionOptions), true);
  }

  /** One request upstream, with up to two retries on connect failure. */
  async request(method: string, path: string, headers: http.OutgoingHttpHeaders, body: Buffer): Promise<UpstreamResult> {
    let last: UpstreamResult | null = null;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const result = await this.once(method, path, { ...headers, 'x-envoy-attempt-count': String(attempt) }, body);
      if (!result.failure || !result.failure.flags.includes('UF')) return result;
      last = result;
    }
    last!.failure!.flags.push('URX');
    return last!;
  }

  private once(method: string, path: string, headers: http.OutgoingHttpHeaders, body: Buffer): Promise<UpstreamResult> {
    const route = this.route();
    const agent = this.agentFor(route);
    const upstreamHost = `${route.host}:${route.port}`;
    this.stat('upstream_rq_pending_total');
    return new Promise((resolve) => {
      let socket: Socket | null = null;
      let connected = false;
      const req = (route.tls ? https : http).request({ host: route.host, port: route.port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        // Read the connection's facts now: a keep-alive socket goes back to the pool at 'end'.
        const s = res.socket as TLSSocket;
        const peer = route.tls ? splitSubjectAltName(s.getPeerCertificate?.()?.subjectaltname).uriSans[0] ?? null : null;
        const upstreamLocalAddress = s.localAddress ? `${s.localAddress}:${s.localPort}` : null;
        const upstreamTlsVersion = route.tls ? (s.getProtocol?.() ?? null) : null;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => undefined);
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          this.stat(`upstream_rq_${code}`);
          this.stat(`upstream_rq_${Math.floor(code / 100)}xx`);
          this.stat('upstream_rq_completed');
          if (code < 500) this.hostCounters.rq_success += 1;
          else this.hostCounters.rq_error += 1;
          resolve({
            status: code,
            headers: res.headers,
            body: Buffer.concat(chunks),
            upstreamHost,
            upstreamLocalAddress,
            upstreamPeerUriSan: peer,
            upstreamTlsVersion,
            failure: null,
          });
        });
      });
      req.on('socket', (s: Socket) => {
        socket = s;
        const markConnected = (): void => {
          if (connected) return;
          connected = true;
          this.stat('upstream_rq_total');
          this.hostCounters.rq_total += 1;
        };
        // A reused pooled connection is already set up.
        if (this.ready.has(s)) markConnected();
        else s.once(route.tls ? 'secureConnect' : 'connect', markConnected);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        const local = socket?.localAddress ? `${socket.localAddress}:${socket.localPort}` : null;
        if (!connected) {
          this.stat('upstream_cx_connect_fail');
          this.hostCounters.cx_connect_fail += 1;
        }
        const flags = connected ? ['UC'] : ['UF'];
        const reason = connected ? null : route.tls ? tlsFailureReason(err.code) : null;
        const detail = connected
          ? 'upstream connect error or disconnect/reset before headers. reset reason: connection termination'
          : `upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: ${reason ?? `delayed connect error: ${err.code ?? err.message}`}`;
        resolve({ status: 503, headers: {}, body: Buffer.from(detail), upstreamHost, upstreamLocalAddress: local, upstreamPeerUriSan: null, upstreamTlsVersion: null, failure: { flags, reason, detail } });
      });
      req.end(body);
    });
  }

  close(): void {
    this.reset();
  }
}
