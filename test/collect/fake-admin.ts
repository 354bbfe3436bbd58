import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminGetter } from '../../src/collect/types.js';

/** Fields of each admin dump type (what Envoy checks a mask path against). */
const DUMP_FIELDS: Record<string, string[]> = {
  BootstrapConfigDump: ['bootstrap', 'last_updated'],
  ClustersConfigDump: ['version_info', 'static_clusters', 'dynamic_active_clusters', 'dynamic_warming_clusters'],
  EndpointsConfigDump: ['static_endpoint_configs', 'dynamic_endpoint_configs'],
  ListenersConfigDump: ['version_info', 'static_listeners', 'dynamic_listeners'],
  RoutesConfigDump: ['static_route_configs', 'dynamic_route_configs'],
  SecretsConfigDump: ['static_secrets', 'dynamic_active_secrets', 'dynamic_warming_secrets'],
};
const T = (name: string) => `type.googleapis.com/envoy.admin.v3.${name}`;

export function sampleDump(): { configs: Record<string, unknown>[] } {
  return {
    configs: [
      { '@type': T('BootstrapConfigDump'), bootstrap: { node: { id: 'sidecar~10.0.0.5~bff-1.mesh-verify~mesh-verify.svc.cluster.local' }, admin: {} } },
      { '@type': T('ClustersConfigDump'), dynamic_active_clusters: [{ cluster: { name: 'outbound|8080||svc.mesh-verify.svc.cluster.local' } }] },
      { '@type': T('EndpointsConfigDump'), dynamic_endpoint_configs: [{ endpoint_config: { cluster_name: 'outbound|8080||svc.mesh-verify.svc.cluster.local' } }] },
      { '@type': T('ListenersConfigDump'), dynamic_listeners: [{ name: 'virtualInbound' }] },
      { '@type': T('RoutesConfigDump'), dynamic_route_configs: [{ route_config: { name: '8080' } }] },
      { '@type': T('SecretsConfigDump'), dynamic_active_secrets: [{ name: 'default', secret: { tls_certificate: { private_key: { inline_bytes: 'c2VjcmV0LWtleQ==' } } } }] },
    ],
  };
}

/**
 * Envoy's mask semantics, in small: a dump is kept only when every path's first segment is one
 * of its fields; nothing kept is HTTP 400. `include_eds` is needed for endpoints.
 */
export function maskedDump(dump: { configs: Record<string, unknown>[] }, query: URLSearchParams): { status: number; body: string } {
  const includeEds = query.has('include_eds');
  let configs = dump.configs.filter((c) => includeEds || c['@type'] !== T('EndpointsConfigDump'));
  const mask = query.get('mask');
  if (mask) {
    const paths = mask.split(',');
    configs = configs.flatMap((c) => {
      const fields = DUMP_FIELDS[String(c['@type']).split('.').pop() as string] ?? [];
      if (!paths.every((p) => fields.includes(p.split('.')[0]))) return [];
      const kept: Record<string, unknown> = { '@type': c['@type'] };
      for (const p of paths) {
        const [f, sub] = p.split('.');
        if (!(f in c)) continue;
        const v = c[f] as Record<string, unknown>;
        kept[f] = sub ? { ...(kept[f] as object), ...(sub in v ? { [sub]: v[sub] } : {}) } : v;
      }
      return [kept];
    });
    if (configs.length === 0) return { status: 400, body: `FieldMask paths: "${mask}" could not be successfully applied to any configs.` };
  }
  return { status: 200, body: JSON.stringify({ configs }, null, 2) };
}

export interface FakeAdminServer {
  port: number;
  requests: string[];
  getter(): AdminGetter;
  close(): Promise<void>;
}

/** A tiny Envoy-like admin server on 127.0.0.1 with the endpoints collect reads. */
export async function startAdminServer(opts: { dump?: { configs: Record<string, unknown>[] }; honourMask?: boolean } = {}): Promise<FakeAdminServer> {
  const dump = opts.dump ?? sampleDump();
  const requests: string[] = [];
  let statsReads = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    requests.push(req.url ?? '/');
    const send = (status: number, body: string, type = 'text/plain') => { res.writeHead(status, { 'content-type': type }); res.end(body); };
    switch (url.pathname) {
      case '/stats': statsReads += 1; return send(200, `cluster.outbound|8080||svc.ssl.handshake: ${statsReads}\nserver.live: 1\n`);
      case '/stats/prometheus': return send(200, `# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n`);
      case '/certs': return send(200, JSON.stringify({ certificates: [] }), 'application/json');
      case '/clusters': return send(200, JSON.stringify({ cluster_statuses: [] }), 'application/json');
      case '/server_info': return send(200, JSON.stringify({ version: 'abc/1.30.5/Clean/RELEASE/BoringSSL', state: 'LIVE' }), 'application/json');
      case '/config_dump': {
        const r = opts.honourMask === false ? { status: 200, body: JSON.stringify(dump) } : maskedDump(dump, url.searchParams);
        return send(r.status, r.body, 'application/json');
      }
      default: return send(404, 'invalid path. admin commands are:');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    requests,
    getter: () => ({
      via: 'direct',
      get: (path) => new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        }).on('error', reject);
      }),
      close: () => {},
    }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
