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

/** Top-level fields of each admin dump type: a mask must name fields of a config's type. */
export const DUMP_FIELDS: Record<string, string[]> = {
  BootstrapConfigDump: ['bootstrap', 'last_updated'],
  ClustersConfigDump: ['version_info', 'static_clusters', 'dynamic_active_clusters', 'dynamic_warming_clusters'],
  ListenersConfigDump: ['version_info', 'static_listeners', 'dynamic_listeners'],
  RoutesConfigDump: ['static_route_configs', 'dynamic_route_configs'],
  ScopedRoutesConfigDump: ['inline_scoped_route_configs', 'dynamic_scoped_route_configs'],
  SecretsConfigDump: ['static_secrets', 'dynamic_active_secrets', 'dynamic_warming_secrets'],
  EndpointsConfigDump: ['static_endpoint_configs', 'dynamic_endpoint_configs'],
  EcdsConfigDump: ['ecds_filters'],
};

type Json = Record<string, unknown>;

function maskFitsType(config: Json, paths: string[][]): boolean {
  const type = String(config['@type'] ?? '').split('.').pop() ?? '';
  const fields = DUMP_FIELDS[type];
  return fields !== undefined && paths.every((p) => fields.includes(p[0]));
}

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
/** Answered with 404, as Envoy does for a resource no dump has. */
export class ConfigDumpNotFound extends Error {}

export function queryConfigDump(dump: { configs: Json[] }, params: URLSearchParams): { configs: Json[] } {
  const resource = params.get('resource');
  const mask = params.get('mask');
  let configs = dump.configs;
  if (resource) {
    const type = RESOURCE_TYPES[resource];
    if (!type) {
      // Envoy: 404 for a field no dump has; 400 for a field that exists but is not repeated.
      const exists = Object.values(DUMP_FIELDS).some((f) => f.includes(resource));
      if (!exists) throw new ConfigDumpNotFound(`${resource} not found in config dump`);
      throw new ConfigDumpQueryError(`${resource} is not a repeated field. Use ?mask=${resource} to get only this field`);
    }
    configs = dump.configs.flatMap((c) => {
      const items = c[resource];
      return Array.isArray(items) ? items.map((item) => ({ '@type': `type.googleapis.com/envoy.admin.v3.${type}`, ...(item as Json) })) : [];
    });
  }
  if (mask && !resource) {
    // Envoy keeps only the dumps whose type has every masked field, and refuses a mask that fits none.
    const paths = mask.split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.split('.'));
    configs = configs.filter((c) => maskFitsType(c, paths));
    if (configs.length === 0) throw new ConfigDumpQueryError(`FieldMask paths: "${mask}" could not be successfully applied to any configs.`);
  }
  if (mask) configs = configs.map((c) => applyFieldMask(c, mask));
  return { configs };
}
