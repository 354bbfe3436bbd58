import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatAccessLogLine } from './access-log.js';
import { downstreamFactsOf, type DownstreamFacts } from './downstream.js';
import type { LabProxy } from './lab-proxy.js';
import type { IstioLabels } from './stats-store.js';
import type { UpstreamCluster, UpstreamResult } from './upstream-cluster.js';
import { withoutHopByHop } from './upstream-cluster.js';
import { nextXfcc, type XfccMode } from './xfcc.js';

export interface RouteMatch {
  cluster: UpstreamCluster;
  routeName: string | null;
}

export interface HttpListenerConfig {
  proxy: LabProxy;
  /** HttpConnectionManager stat_prefix (`inbound_0.0.0.0_8080`, `outbound_0.0.0.0_8080`). */
  statPrefix: string;
  xfcc: XfccMode;
  /** true on an outbound/gateway listener: adds x-envoy-attempt-count and retries connect failures. */
  outbound: boolean;
  /**
   * use_remote_address true without internal_address_config (Istio's gateway): every request is
   * an edge request, and Envoy >= 1.33 replaces its x-request-id with a new UUID
   * (envoy source/common/http/conn_manager_utility.cc: edge_request = !internal && use_remote_address;
   * keep_external_id = !edge_request || preserve_external_request_id).
   */
  edge?: boolean;
  route(req: IncomingMessage): RouteMatch | null;
  /** Awaited before the answer is written (work that must finish within the request). */
  beforeResponse?: () => Promise<void>;
  /** istio_requests_total labels for this request, or null when this listener does not report. */
  metricLabels?(facts: DownstreamFacts, result: UpstreamResult, flags: string[]): IstioLabels | null;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.concat(chunks)));
  });
}

/**
 * One HTTP request through an Envoy HTTP connection manager: route, set (at the edge: replace) x-request-id and
 * x-forwarded-client-cert, forward over the cluster's pooled connections, answer, count and
 * write one JSON access-log line.
 */
export async function forwardRequest(cfg: HttpListenerConfig, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = new Date();
  const facts = downstreamFactsOf(req.socket);
  const { proxy, statPrefix } = cfg;
  const http = (k: string): void => proxy.stats.inc(`http.${statPrefix}.${k}`);
  http('downstream_rq_total');
  const body = await readBody(req);
  const incoming = cfg.edge ? undefined : (req.headers['x-request-id'] as string | undefined);
  const requestId = incoming ?? randomUUID();
  const match = cfg.route(req);
  let result: UpstreamResult | null = null;
  let flags: string[] = [];
  let status: number;
  let responseBody: Buffer;
  let responseHeaders: Record<string, string | string[] | number> = {};
  if (!match) {
    flags = ['NR'];
    status = 404;
    responseBody = Buffer.alloc(0);
  } else {
    const headers = withoutHopByHop(req.headers);
    headers['x-request-id'] = requestId;
    headers['x-forwarded-proto'] = facts.tlsVersion ? 'https' : 'http';
    const xfcc = nextXfcc(cfg.xfcc, req.headers['x-forwarded-client-cert'] as string | undefined, facts.localUriSan, facts.peer);
    if (xfcc) headers['x-forwarded-client-cert'] = xfcc;
    else delete headers['x-forwarded-client-cert'];
    if (!cfg.outbound) delete headers['x-envoy-attempt-count'];
    const t0 = Date.now();
    result = await match.cluster.request(req.method ?? 'GET', req.url ?? '/', headers, body);
    status = result.status;
    responseBody = result.body;
    if (result.failure) {
      flags = result.failure.flags;
      responseHeaders = { 'content-type': 'text/plain' };
    } else {
      const h = withoutHopByHop(result.headers);
      delete h['content-length'];
      responseHeaders = h as Record<string, string | string[] | number>;
      responseHeaders['x-envoy-upstream-service-time'] = String(Date.now() - t0);
    }
  }
  if (cfg.beforeResponse) await cfg.beforeResponse();
  responseHeaders['server'] = 'istio-envoy';
  responseHeaders['content-length'] = responseBody.length;
  if (!res.headersSent && !res.destroyed) {
    res.writeHead(status, responseHeaders);
    res.end(responseBody);
  }
  http(`downstream_rq_${Math.floor(status / 100)}xx`);
  http('downstream_rq_completed');
  const labels = result && cfg.metricLabels ? cfg.metricLabels(facts, result, flags) : null;
  if (labels) proxy.stats.countRequest(labels);
  proxy.writeAccessLog(formatAccessLogLine({
    startTime: started,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    protocol: `HTTP/${req.httpVersion}`,
    responseCode: status,
    responseFlags: flags,
    requestId,
    meshVerifyId: (req.headers['x-mesh-verify-id'] as string | undefined) ?? null,
    authority: req.headers.host ?? null,
    routeName: match?.routeName ?? null,
    upstreamCluster: match?.cluster.name ?? null,
    upstreamHost: result?.upstreamHost ?? null,
    upstreamLocalAddress: result?.upstreamLocalAddress ?? null,
    downstreamLocalAddress: facts.localAddress,
    downstreamRemoteAddress: facts.remoteAddress,
    requestedServerName: facts.sni,
    downstreamPeerUriSan: facts.peer?.uriSans[0] ?? null,
    downstreamLocalUriSan: facts.localUriSan,
    downstreamTlsVersion: facts.tlsVersion,
    downstreamPeerCertSha256: facts.peer?.sha256 ?? null,
    upstreamPeerUriSan: result?.upstreamPeerUriSan ?? null,
    upstreamTlsVersion: result?.upstreamTlsVersion ?? null,
    upstreamTransportFailureReason: result?.failure?.reason ?? null,
    durationMs: Date.now() - started.getTime(),
    bytesReceived: body.length,
    bytesSent: responseBody.length,
  }));
}
