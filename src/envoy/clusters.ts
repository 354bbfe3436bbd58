import type { ClusterStatus } from './types.js';
import { asArray, asNumber, asRecord, asString, parseJsonOrText, type JsonRecord } from './json-access.js';

/**
 * Parse Envoy's /clusters, text (`cluster::host::stat::value`) or `?format=json`, with both the
 * old camelCase (`hostStatuses`, `addedViaApi`) and the current snake_case field names.
 */
export function parseClusters(body: string): ClusterStatus[] {
  return parseJsonOrText(body, parseClustersJson, parseClustersText);
}

/** Second fields of cluster-level (not host) lines in the text format. */
const CLUSTER_LEVEL_KEYS = new Set([
  'default_priority', 'high_priority', 'added_via_api', 'observability_name', 'eds_service_name', 'outlier',
]);

function parseClustersText(body: string): ClusterStatus[] {
  const byName = new Map<string, ClusterStatus>();
  const hostIndex = new Map<string, ClusterStatus['hosts'][number]>();
  for (const rawLine of body.split('\n')) {
    const line = rawLine.trim();
    if (line === '') continue;
    const parts = line.split('::');
    if (parts.length < 3) continue;
    const [name, second] = parts;
    let cluster = byName.get(name);
    if (!cluster) {
      cluster = { name, addedViaApi: null, hosts: [] };
      byName.set(name, cluster);
    }
    if (second === 'added_via_api') {
      cluster.addedViaApi = parts[2] === 'true';
      continue;
    }
    if (CLUSTER_LEVEL_KEYS.has(second) || parts.length < 4) continue;
    const key = `${name}::${second}`;
    let host = hostIndex.get(key);
    if (!host) {
      host = { address: second, stats: {}, health: [] };
      hostIndex.set(key, host);
      cluster.hosts.push(host);
    }
    const stat = parts[2];
    const value = parts.slice(3).join('::');
    if (stat === 'health_flags') {
      host.health = value.split(/[|/]/).map((f) => f.trim()).filter((f) => f !== '');
    } else if (/^-?\d+(\.\d+)?$/.test(value)) {
      host.stats[stat] = Number(value);
    }
  }
  return [...byName.values()];
}

function pick(r: JsonRecord | null, snake: string, camel: string): unknown {
  if (!r) return undefined;
  return r[snake] !== undefined ? r[snake] : r[camel];
}

function parseClustersJson(json: unknown): ClusterStatus[] {
  return asArray(pick(asRecord(json), 'cluster_statuses', 'clusterStatuses')).flatMap((raw) => {
    const c = asRecord(raw);
    const name = asString(c?.name);
    if (!c || name === null) return [];
    const added = pick(c, 'added_via_api', 'addedViaApi');
    return [{
      name,
      addedViaApi: typeof added === 'boolean' ? added : null,
      hosts: asArray(pick(c, 'host_statuses', 'hostStatuses')).map((h) => parseHostJson(asRecord(h))),
    }];
  });
}

function parseHostJson(h: JsonRecord | null): ClusterStatus['hosts'][number] {
  const stats: Record<string, number> = {};
  for (const s of asArray(h?.stats)) {
    const stat = asRecord(s);
    if (!stat || typeof stat.name !== 'string') continue;
    // proto3 JSON omits zero values.
    const v = stat.value === undefined ? 0 : asNumber(stat.value);
    if (v !== null) stats[stat.name] = v;
  }
  const health: string[] = [];
  const hs = asRecord(pick(h, 'health_status', 'healthStatus'));
  if (hs) {
    for (const [k, v] of Object.entries(hs)) {
      if (k === 'eds_health_status' || k === 'edsHealthStatus') {
        if (typeof v === 'string') health.push(v);
      } else if (v === true) {
        health.push(k);
      }
    }
  }
  return { address: formatAddress(asRecord(h?.address)), stats, health };
}

function formatAddress(a: JsonRecord | null): string {
  const sock = asRecord(pick(a, 'socket_address', 'socketAddress'));
  if (sock) {
    const address = asString(sock.address) ?? '';
    const port = asNumber(pick(sock, 'port_value', 'portValue'));
    const host = address.includes(':') ? `[${address}]` : address;
    return port === null ? host : `${host}:${port}`;
  }
  const pipe = asRecord(a?.pipe);
  if (pipe && typeof pipe.path === 'string') return pipe.path;
  const internal = asRecord(pick(a, 'envoy_internal_address', 'envoyInternalAddress'));
  if (internal) return `envoy://${asString(pick(internal, 'server_listener_name', 'serverListenerName')) ?? ''}`;
  return '';
}
