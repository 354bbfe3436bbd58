import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { setDownstreamFacts } from './downstream.js';
import { LoopbackService, trackSocket } from './loopback-server.js';
import type { LabProxy } from './lab-proxy.js';
import { peerCertificateFacts, verifyPeerCertificate } from './peer-cert.js';
import { TRUST_DOMAIN } from '../../topology/reference.js';
import { addressesOf, firstChunk, looksLikeTls, replayDuplex } from './replay-socket.js';
import type { Duplex } from 'node:stream';

export interface ListenerTlsConfig {
  keyPem: string;
  certPem: string;
  /** Trust bundle for client certificates (ROOTCA) when they are required. */
  caPem: string | null;
  requireClientCertificate: boolean;
  alpn: string[];
  /** This proxy's URI SAN (DOWNSTREAM_LOCAL_URI_SAN, XFCC By). */
  localUriSan: string | null;
}

/** Which filter chains match right now: TLS (terminated), plaintext, or neither. */
export interface ListenerChains {
  tls: ListenerTlsConfig | null;
  plaintext: boolean;
}

/**
 * A listener with Envoy's tls_inspector: it reads the first bytes to pick the TLS or the
 * raw_buffer filter chain, terminates TLS itself, and hands HTTP to `handler`. Stats are
 * `listener.<statName>.*` as Envoy names them.
 */
export class DownstreamListener extends LoopbackService {
  private readonly http: http.Server;
  private contextKey = '';
  private context: tls.SecureContext | null = null;

  constructor(
    private readonly proxy: LabProxy,
    readonly statName: string,
    private readonly chains: () => ListenerChains,
    handler: http.RequestListener,
  ) {
    super(net.createServer());
    this.server.on('connection', (socket: net.Socket) => void this.accept(socket));
    this.http = http.createServer({ keepAliveTimeout: 60_000 }, handler);
    const s = (k: string): string => `listener.${statName}.${k}`;
    proxy.stats.declare(s('downstream_cx_total'), s('ssl.handshake'), s('ssl.connection_error'), s('ssl.fail_verify_error'), s('ssl.fail_verify_no_cert'), s('no_filter_chain_match'));
    proxy.stats.setGauge(s('downstream_cx_active'), 0);
    proxy.stats.inc('listener_manager.listener_added');
  }

  private stat(k: string, by = 1): void {
    this.proxy.stats.inc(`listener.${this.statName}.${k}`, by);
  }


  private secureContext(cfg: ListenerTlsConfig): tls.SecureContext {
    const key = cfg.certPem + (cfg.caPem ?? '');
    if (this.context && key === this.contextKey) return this.context;
    this.contextKey = key;
    this.context = tls.createSecureContext({ key: cfg.keyPem, cert: cfg.certPem, ...(cfg.caPem ? { ca: cfg.caPem } : {}) });
    return this.context;
  }

  private async accept(socket: net.Socket): Promise<void> {
    trackSocket(this.sockets, socket);
    this.stat('downstream_cx_total');
    this.proxy.stats.addGauge(`listener.${this.statName}.downstream_cx_active`, 1);
    socket.once('close', () => this.proxy.stats.addGauge(`listener.${this.statName}.downstream_cx_active`, -1));
    socket.on('error', () => undefined);
    const head = await firstChunk(socket);
    if (!head) return void socket.destroy();
    const chains = this.chains();
    const stream = replayDuplex(socket, head);
    stream.on('error', () => undefined);
    if (looksLikeTls(head) && chains.tls) return this.acceptTls(stream, chains.tls);
    if (!looksLikeTls(head) && chains.plaintext) {
      const a = addressesOf(stream)!;
      setDownstreamFacts(stream, { localAddress: a.localAddress, remoteAddress: a.remoteAddress, tlsVersion: null, sni: null, peer: null, localUriSan: null });
      this.http.emit('connection', stream);
      return;
    }
    // No filter chain matches (e.g. plaintext on a STRICT port): Envoy closes the connection.
    this.stat('no_filter_chain_match');
    socket.destroy();
  }

  private acceptTls(stream: Duplex, cfg: ListenerTlsConfig): void {
    const tlsSocket = new tls.TLSSocket(stream, {
      isServer: true,
      secureContext: this.secureContext(cfg),
      requestCert: cfg.requireClientCertificate,
      rejectUnauthorized: cfg.requireClientCertificate,
      ALPNProtocols: cfg.alpn,
    });
    let secure = false;
    tlsSocket.on('error', (err: NodeJS.ErrnoException) => {
      if (!secure) {
        this.stat('ssl.connection_error');
        if (err.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') this.stat('ssl.fail_verify_no_cert');
      }
      tlsSocket.destroy();
    });
    tlsSocket.once('secure', () => {
      const verifyError = cfg.requireClientCertificate && cfg.caPem ? verifyPeerCertificate(tlsSocket, cfg.caPem, `spiffe://${TRUST_DOMAIN}/`) : null;
      if (verifyError) {
        this.stat('ssl.connection_error');
        this.stat(verifyError === 'SAN_MISMATCH' ? 'ssl.fail_verify_san' : 'ssl.fail_verify_error');
        tlsSocket.destroy();
        return;
      }
      secure = true;
      this.stat('ssl.handshake');
      const version = tlsSocket.getProtocol();
      if (version) this.stat(`ssl.versions.${version}`);
      const cipher = tlsSocket.getCipher()?.standardName;
      if (cipher) this.stat(`ssl.ciphers.${cipher}`);
      const a = addressesOf(stream)!;
      const sni = (tlsSocket as tls.TLSSocket & { servername?: string | false }).servername;
      setDownstreamFacts(tlsSocket, {
        localAddress: a.localAddress,
        remoteAddress: a.remoteAddress,
        tlsVersion: version,
        sni: sni || null,
        peer: peerCertificateFacts(tlsSocket),
        localUriSan: cfg.localUriSan,
      });
      this.http.emit('connection', tlsSocket);
    });
  }
}
