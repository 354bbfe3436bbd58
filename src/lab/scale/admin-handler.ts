import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigDumpNotFound, ConfigDumpQueryError, queryConfigDump } from './config-dump-query.js';
import type { RecordedTemplate } from './recorded.js';
import type { Substitution } from './substitute.js';

/**
 * The Envoy admin endpoints one fleet proxy answers, from its template's answers recorded from a
 * real Envoy (recorded.ts), varied for the pod by substitution (substitute.ts): /config_dump
 * (?include_eds, ?resource=, ?name_regex=, ?mask=, by config-dump-query.ts over the recorded
 * dump), /stats (?filter=, ?format=json), /certs, /clusters (?format=json), /server_info, /ready.
 * A query is answered over the recorded (shared) answer first, then only its result is
 * substituted: the fleet keeps one copy of each template whatever its size.
 */
export interface ProxyAnswers {
  template: RecordedTemplate;
  substitution: Substitution;
}

export function adminHandler(answers: () => ProxyAnswers): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const { template: t, substitution: sub } = answers();
    try {
      switch (url.pathname) {
        case '/config_dump': {
          let dump;
          try {
            dump = queryConfigDump(t.configDump, url.searchParams);
          } catch (err) {
            if (err instanceof ConfigDumpNotFound) return send(res, 404, 'text/plain', `${err.message}\n`);
            if (err instanceof ConfigDumpQueryError) return send(res, 400, 'text/plain', `${err.message}\n`);
            throw err;
          }
          // Envoy prints `{}` for an empty list of configs.
          const body = dump.configs.length === 0 ? {} : sub.json(dump);
          return send(res, 200, 'application/json', JSON.stringify(body, null, 1));
        }
        case '/certs':
          return send(res, 200, 'application/json', JSON.stringify(sub.json(t.certs), null, 1));
        case '/stats':
          return sendStats(res, t, sub, url.searchParams.get('filter'), url.searchParams.get('format'));
        case '/clusters':
          if (url.searchParams.get('format') === 'json') return send(res, 200, 'application/json', JSON.stringify(sub.json(t.clusters), null, 1));
          return send(res, 200, 'text/plain', sub.text(t.clustersText));
        case '/server_info':
          return send(res, 200, 'application/json', JSON.stringify(sub.json(t.serverInfo), null, 1));
        case '/ready':
          return send(res, 200, 'text/plain', 'LIVE\n');
        default:
          return send(res, 404, 'text/plain', 'invalid path. admin commands are:\n  /certs\n  /clusters\n  /config_dump\n  /ready\n  /server_info\n  /stats\n');
      }
    } catch (err) {
      return send(res, 500, 'text/plain', `fleet admin error: ${(err as Error).message}\n`);
    }
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * /stats over the recorded answers: `filter` is a regex searched in each name (Envoy: RE2
 * PartialMatch); `format=json` filters the recorded JSON form (counters and gauges by name,
 * histograms by their computed quantiles' names), else the recorded text form, line by line.
 */
function sendStats(res: ServerResponse, t: RecordedTemplate, sub: Substitution, filter: string | null, format: string | null): void {
  let re: RegExp | null = null;
  if (filter) {
    try { re = new RegExp(filter); } catch { return send(res, 400, 'text/plain', 'Invalid re2 regex\n'); }
  }
  const keep = (name: string) => !re || re.test(name);
  if (format === 'json') {
    const stats = t.statsJson.stats.flatMap((s) => {
      if (typeof s.name === 'string') return keep(s.name) ? [s] : [];
      const h = s.histograms as { computed_quantiles?: { name: string }[] } | undefined;
      if (!h) return [s];
      const computed = (h.computed_quantiles ?? []).filter((q) => keep(q.name));
      return computed.length > 0 ? [{ histograms: { ...h, computed_quantiles: computed } }] : [];
    });
    return send(res, 200, 'application/json', JSON.stringify(sub.json({ stats })));
  }
  const lines = sub.text(t.stats).split('\n').filter((l) => l && keep(l.slice(0, l.indexOf(':'))));
  return send(res, 200, 'text/plain', lines.length ? `${lines.join('\n')}\n` : '');
}
