/**
 * The Envoy admin requests mesh-verify makes, and which bundle field each one fills.
 * Before the requests: counters only. After: counters, certificates, config, cluster status.
 */
export const STATS_PATH = '/stats';
export const PROMETHEUS_PATH = '/stats/prometheus';
export const CERTS_PATH = '/certs';
export const CLUSTERS_PATH = '/clusters?format=json';
export const SERVER_INFO_PATH = '/server_info';

/**
 * /config_dump in sections. Envoy applies `mask` (a protobuf FieldMask) to every top-level dump
 * and keeps only the dumps for which every path of the mask is a field, so paths of different
 * dump types cannot share one request: one request per dump type, merged afterwards.
 * Routes, scoped routes and ECDS are not needed and never fetched.
 */
export interface ConfigDumpSection {
  name: string;
  /** `@type` of the dump this section returns. */
  type: string;
  mask: string;
  includeEds?: boolean;
}

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

export const CONFIG_DUMP_SECTIONS: readonly ConfigDumpSection[] = [
  // Of the node, what src/envoy reads (node-info.ts, config-dump.ts): not `extensions`, Envoy's list
  // of every compiled-in extension (~70 KB on 1.38.3, two thirds of the whole saved dump). Every
  // path names a field of envoy.config.core.v3.Node: Envoy refuses a mask with an unknown one.
  { name: 'bootstrap', type: `${ADMIN}BootstrapConfigDump`, mask: 'bootstrap.node.id,bootstrap.node.cluster,bootstrap.node.metadata,bootstrap.node.user_agent_build_version' },
  { name: 'clusters', type: `${ADMIN}ClustersConfigDump`, mask: 'static_clusters,dynamic_active_clusters' },
  { name: 'endpoints', type: `${ADMIN}EndpointsConfigDump`, mask: 'static_endpoint_configs,dynamic_endpoint_configs', includeEds: true },
  { name: 'listeners', type: `${ADMIN}ListenersConfigDump`, mask: 'static_listeners,dynamic_listeners' },
  { name: 'secrets', type: `${ADMIN}SecretsConfigDump`, mask: 'static_secrets,dynamic_active_secrets,dynamic_warming_secrets' },
];

export function configDumpPath(section: ConfigDumpSection): string {
  return `/config_dump?mask=${section.mask}${section.includeEds ? '&include_eds' : ''}`;
}

/** The whole dump (used when masked requests are refused). */
export const FULL_CONFIG_DUMP_PATH = '/config_dump?include_eds';
