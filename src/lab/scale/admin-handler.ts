import type { IncomingMessage, ServerResponse } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { configDump, configDumpResource, envoyVersionOf, type DumpInputs } from './dump-builder.js';

/**
 * The Envoy admin endpoints one fleet proxy answers: /config_dump (?mask=, ?include_eds), /certs,
 * /stats (?filter=, ?format=json), /server_info, /ready. Content is built per request.
 */
export function adminHandler(inputs: () => DumpInputs): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const d = inputs();
    try {
      switch (url.pathname) {
        case '/config_dump': {
          const resource = url.searchParams.get('resource');
          if (!resource) {
            const mask = url.searchParams.get('mask');
            const dump = configDump(d, mask, url.searchParams.has('include_eds'));
            if (!dump) return send(res, 400, 'text/plain', `FieldMask paths: "${mask}" could not be successfully applied to any configs.\n`);
            return send(res, 200, 'application/json', JSON.stringify(dump, null, 2));
          }
          let dump;
          try {
            dump = configDumpResource(d, resource, url.searchParams.get('name_regex'), url.searchParams.get('mask'));
          } catch {
            return send(res, 400, 'text/plain', 'Error while parsing name_regex\n');
          }
          if (!dump) return send(res, 404, 'text/plain', `${resource} not found in config dump\n`);
          return send(res, 200, 'application/json', JSON.stringify(dump, null, 2));
        }
        case '/certs':
          return send(res, 200, 'application/json', JSON.stringify(certs(d), null, 2));
        case '/stats':
          return sendStats(res, d, url.searchParams.get('filter'), url.searchParams.get('format'));
        case '/server_info':
          return send(res, 200, 'application/json', JSON.stringify(serverInfo(d), null, 2));
        case '/ready':
          return send(res, 200, 'text/plain', 'LIVE\n');
        default:
          return send(res, 404, 'text/plain', 'invalid path. admin commands are:\n  /certs\n  /config_dump\n  /ready\n  /server_info\n  /stats\n');
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

function certDetail(pem: string, now: number) {
  const x = new X509Certificate(pem);
  const uris = (x.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:')).map((s) => ({ uri: s.slice(4) }));
  const dns = (x.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => ({ dns: s.slice(4) }));
  const notAfter = new Date(x.validTo);
  return {
    path: '<inline>', serial_number: x.serialNumber.toLowerCase(), subject_alt_names: [...uris, ...dns],
    days_until_expiration: String(Math.max(0, Math.floor((notAfter.getTime() - now) / 86_400_000))),
    valid_from: new Date(x.validFrom).toISOString().replace('.000Z', 'Z'), expiration_time: notAfter.toISOString().replace('.000Z', 'Z'),
  };
}

function pems(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

function certs(d: DumpInputs) {
  const now = Date.now();
  const entries = [{ ca_cert: pems(d.rootPem).map((p) => certDetail(p, now)), cert_chain: pems(d.chainPem).slice(0, 1).map((p) => certDetail(p, now)) }];
  for (const c of d.credentialHosts) {
    const pem = d.credentials.get(c.name);
    if (pem) entries.push({ ca_cert: [], cert_chain: pems(pem).map((p) => certDetail(p, now)) });
  }
  return { certificates: entries };
}

function stats(d: DumpInputs): [string, number][] {
  const p = d.spec;
  const out: [string, number][] = [
    ['server.state', 0], ['server.live', 1], ['server.uptime', 3600 + p.index],
    ['server.days_until_first_cert_expiring', 0],
    ['listener_manager.total_listeners_active', p.visibleServices + 2], ['listener_manager.total_listeners_warming', 0],
    ['listener_manager.lds.update_rejected', p.variant === 'listener-error' ? 3 : 0],
    ['cluster_manager.active_clusters', p.visibleServices + p.ports.length + 3], ['cluster_manager.warming_clusters', 0],
    ['sds.default.update_success', 4], ['sds.ROOTCA.update_success', 2],
  ];
  for (const port of p.ports) {
    out.push([`listener.0.0.0.0_15006.ssl.connection_error`, 0]);
    out.push([`cluster.inbound|${port}||.upstream_cx_total`, 100 + p.index % 50]);
  }
  return out;
}

function sendStats(res: ServerResponse, d: DumpInputs, filter: string | null, format: string | null): void {
  let re: RegExp | null = null;
  if (filter) {
    try { re = new RegExp(filter); } catch { return send(res, 400, 'text/plain', `Invalid re2 regex\n`); }
  }
  const rows = stats(d).filter(([n]) => !re || re.test(n));
  if (format === 'json') {
    return send(res, 200, 'application/json', JSON.stringify({ stats: rows.map(([name, value]) => ({ name, value })) }));
  }
  return send(res, 200, 'text/plain', rows.map(([n, v]) => `${n}: ${v}`).join('\n') + '\n');
}

function serverInfo(d: DumpInputs) {
  const p = d.spec;
  const envoy = envoyVersionOf(p.istioVersion);
  return {
    version: `0f0c3f9c3b3c1b8e0c2b4c9f5e7d7a1f2b3c4d5e/${envoy}/Clean/RELEASE/BoringSSL`,
    state: 'LIVE', hot_restart_version: 'disabled',
    command_line_options: { base_id: '0', concurrency: 2, config_path: 'etc/istio/proxy/envoy-rev.json', service_cluster: '', service_node: '', drain_time: '45s' },
    node: { id: `${p.gateway ? 'router' : 'sidecar'}~${p.ip}~${p.name}.${p.namespace}~${p.namespace}.svc.cluster.local`, metadata: { ISTIO_VERSION: p.istioVersion, NAMESPACE: p.namespace, NAME: p.name } },
    uptime_current_epoch: `${3600 + p.index}s`, uptime_all_epochs: `${3600 + p.index}s`,
  };
}
