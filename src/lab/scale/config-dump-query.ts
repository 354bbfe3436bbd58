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

/** The name Envoy's name_regex is matched against: the item's own, or its inner resource's. */
function itemName(item: Json): string | null {
  if (typeof item.name === 'string') return item.name;
  for (const k of ['cluster', 'route_config', 'endpoint_config', 'secret']) {
    const inner = item[k] as Json | undefined;
    if (inner && typeof inner.name === 'string') return inner.name;
    if (inner && typeof inner.cluster_name === 'string') return inner.cluster_name;
  }
  return null;
}

/**
 * `/config_dump` with Envoy's query parameters over a recorded `?include_eds` dump: without
 * `include_eds` the EndpointsConfigDump is left out; `resource=` lists one repeated field's items;
 * `name_regex=` keeps the items whose name fully matches (RE2 FullMatch), except listeners with
 * an error state, which Envoy 1.38 returns whatever the regex (seen in the recorded
 * answers, fixtures/envoy/real-1.38.3/fleet/*\/queries.json.gz); `mask=` trims each config.
 */
export function queryConfigDump(dump: { configs: Json[] }, params: URLSearchParams): { configs: Json[] } {
  const resource = params.get('resource');
  const mask = params.get('mask');
  const nameRegex = params.get('name_regex');
  let re: RegExp | null = null;
  if (nameRegex !== null && nameRegex !== '') {
    try { re = new RegExp(`^(?:${nameRegex})$`); } catch { throw new ConfigDumpQueryError(`Error while parsing name_regex: ${nameRegex}`); }
  }
  let configs = params.has('include_eds') ? dump.configs : dump.configs.filter((c) => !String(c['@type'] ?? '').endsWith('.EndpointsConfigDump'));
  if (resource) {
    const type = RESOURCE_TYPES[resource];
    if (!type) {
      // Envoy: 404 for a field no dump has; 400 for a field that exists but is not repeated.
      const exists = Object.values(DUMP_FIELDS).some((f) => f.includes(resource));
      if (!exists) throw new ConfigDumpNotFound(`${resource} not found in config dump`);
      throw new ConfigDumpQueryError(`${resource} is not a repeated field. Use ?mask=${resource} to get only this field`);
    }
    configs = configs.flatMap((c) => {
      const items = c[resource];
      if (!Array.isArray(items)) return [];
      const kept = re ? (items as Json[]).filter((item) => (resource === 'dynamic_listeners' && 'error_state' in item) || re!.test(itemName(item) ?? '')) : (items as Json[]);
      return kept.map((item) => ({ '@type': `type.googleapis.com/envoy.admin.v3.${type}`, ...item }));
    });
  }
  if (mask && !resource) {
    // Envoy keeps only the dumps whose type has every masked field, and refuses a mask that fits none.
    const paths = mask.split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.split('.'));
    configs = configs.filter((c) => maskFitsType(c, paths));
    // Envoy 1.38.3's words (recorded): `FieldMask <mask> could not be successfully applied to any configs.`
    if (configs.length === 0) throw new ConfigDumpQueryError(`FieldMask ${mask} could not be successfully applied to any configs.`);
  }
  if (mask) configs = configs.map((c) => applyFieldMask(c, mask));
  return { configs };
}
