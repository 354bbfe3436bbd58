/**
 * Envoy's /config_dump query parameters: `resource=<repeated field>` returns that field's items
 * (each with its own @type), `mask=<paths>` trims every config (or resource) to a FieldMask.
 */
const RESOURCE_TYPES: Record<string, string> = {
  static_clusters: 'ClustersConfigDump.StaticCluster',
  dynamic_active_clusters: 'ClustersConfigDump.DynamicCluster',
  dynamic_warming_clusters: 'ClustersConfigDump.DynamicCluster',
  static_listeners: 'ListenersConfigDump.StaticListener',
  dynamic_listeners: 'ListenersConfigDump.DynamicListener',
  static_route_configs: 'RoutesConfigDump.StaticRouteConfig',
  dynamic_route_configs: 'RoutesConfigDump.DynamicRouteConfig',
  static_secrets: 'SecretsConfigDump.StaticSecret',
  dynamic_active_secrets: 'SecretsConfigDump.DynamicSecret',
  dynamic_warming_secrets: 'SecretsConfigDump.DynamicSecret',
  static_endpoint_configs: 'EndpointsConfigDump.StaticEndpointConfig',
  dynamic_endpoint_configs: 'EndpointsConfigDump.DynamicEndpointConfig',
};

type Json = Record<string, unknown>;

function trim(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) return value.map((v) => trim(v, paths));
  if (!value || typeof value !== 'object') return value;
  if (paths.some((p) => p.length === 0)) return value;
  const obj = value as Json;
  const out: Json = {};
  if ('@type' in obj) out['@type'] = obj['@type'];
  const heads = new Set(paths.map((p) => p[0]));
  for (const head of heads) {
    if (!(head in obj)) continue;
    const sub = paths.filter((p) => p[0] === head).map((p) => p.slice(1));
    out[head] = trim(obj[head], sub);
  }
  return out;
}

export function applyFieldMask(config: Json, mask: string): Json {
  const paths = mask.split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.split('.'));
  return trim(config, paths) as Json;
}

export class ConfigDumpQueryError extends Error {}

export function queryConfigDump(dump: { configs: Json[] }, params: URLSearchParams): { configs: Json[] } {
  const resource = params.get('resource');
  const mask = params.get('mask');
  let configs = dump.configs;
  if (resource) {
    const type = RESOURCE_TYPES[resource];
    if (!type) throw new ConfigDumpQueryError(`${resource} is not a repeated field. Use ?mask=${resource} to get only this field`);
    configs = dump.configs.flatMap((c) => {
      const items = c[resource];
      return Array.isArray(items) ? items.map((item) => ({ '@type': `type.googleapis.com/envoy.admin.v3.${type}`, ...(item as Json) })) : [];
    });
  }
  if (mask) configs = configs.map((c) => applyFieldMask(c, mask));
  return { configs };
}
