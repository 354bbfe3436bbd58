import http from 'node:http';
import type { Socket } from 'node:net';
import { LoopbackService, trackSocket } from './loopback-server.js';
import { renderCerts, renderClusters, renderServerInfo } from './admin-outputs.js';
import { ConfigDumpNotFound, ConfigDumpQueryError, queryConfigDump } from './config-dump-query.js';
import type { LabProxy } from './lab-proxy.js';
import { renderPrometheus, renderStatsJson, renderStatsText } from './stats-render.js';

export interface AdminSource {
  proxy: LabProxy;
  configDump(includeEds: boolean): { configs: Record<string, unknown>[] };
  /** Extra certificate chains in use (the gateway credential). */
  extraCertChains(): string[];
}

const ENDPOINTS = ['/certs', '/clusters', '/config_dump', '/ready', '/server_info', '/stats', '/stats/prometheus'];

/** An Envoy-like admin API on 127.0.0.1 (what port 15000 of an istio-proxy answers). */
export class AdminServer extends LoopbackService {
  constructor(private readonly source: AdminSource) {
    super(http.createServer());
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res));
    this.server.on('connection', (s: Socket) => trackSocket(this.sockets, s));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://admin');
    const q = url.searchParams;
    const { proxy } = this.source;
    // Gauges Envoy computes on its own: uptime and the nearest certificate expiry.
    proxy.stats.setGauge('server.uptime', Math.floor((Date.now() - proxy.startedAt.getTime()) / 1000));
    proxy.stats.setGauge('server.days_until_first_cert_expiring', proxy.daysUntilCertExpiry());
    const send = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff' });
      res.end(body);
    };
    const json = (body: string): void => send(200, 'application/json', body);
    const text = (body: string): void => send(200, 'text/plain; charset=UTF-8', body);
    try {
      switch (url.pathname) {
        case '/config_dump': {
          const dump = this.source.configDump(q.has('include_eds'));
          return json(JSON.stringify(queryConfigDump(dump, q), null, 1));
        }
        case '/certs':
          return json(renderCerts(proxy, this.source.extraCertChains()));
        case '/stats': {
          const filter = q.get('filter');
          if (filter) new RegExp(filter);
          if (q.get('format') === 'prometheus') return text(renderPrometheus(proxy.stats));
          return q.get('format') === 'json' ? json(renderStatsJson(proxy.stats, filter)) : text(renderStatsText(proxy.stats, filter));
        }
        case '/stats/prometheus':
          return send(200, 'text/plain; charset=UTF-8', renderPrometheus(proxy.stats));
        case '/clusters':
          return q.get('format') === 'json' ? json(renderClusters(proxy, true)) : text(renderClusters(proxy, false));
        case '/server_info':
          return json(renderServerInfo(proxy));
        case '/ready':
          return text('LIVE\n');
        default:
          return send(404, 'text/plain; charset=UTF-8', `invalid path. admin commands are:\n${ENDPOINTS.map((e) => `  ${e}`).join('\n')}\n`);
      }
    } catch (err) {
      if (err instanceof ConfigDumpNotFound) return send(404, 'text/plain; charset=UTF-8', `${err.message}\n`);
      if (err instanceof ConfigDumpQueryError || err instanceof SyntaxError) return send(400, 'text/plain; charset=UTF-8', `${err.message}\n`);
      return send(500, 'text/plain; charset=UTF-8', `${(err as Error).message}\n`);
    }
  }
}
