import type { CertificateInfo, ProxyPosture } from './types.js';
import { asArray, asRecord, asString, type JsonRecord } from './json-access.js';
import { inspectListeners, inboundModes, markCertificateWarming } from './listener-tls.js';
import { inspectClusters } from './cluster-tls.js';
import { inspectSecrets } from './secret-info.js';
import { describeNode } from './node-info.js';
import { looksCamelCase, toSnakeCase } from './proto-json.js';

export type DumpState = 'active' | 'warming' | 'draining' | 'error';

export interface DumpListener {
  name: string;
  state: DumpState;
  /** The envoy.config.listener.v3.Listener (for 'error': the rejected configuration). */
  listener: JsonRecord;
  static: boolean;
  error: string | null;
}

export interface DumpCluster {
  name: string;
  state: 'active' | 'warming';
  static: boolean;
  cluster: JsonRecord;
}

export interface DumpSecret {
  name: string;
  state: 'active' | 'warming';
  static: boolean;
  /** The envoy.extensions.transport_sockets.tls.v3.Secret, or null when not yet received. */
  secret: JsonRecord | null;
}

/** A /config_dump reduced to the sections mesh-verify reads; absent sections are empty. */
export interface ConfigDump {
  /** Short @type names of the sections present, in dump order (unknown ones included). */
  sections: string[];
  bootstrap: JsonRecord | null;
  listeners: DumpListener[];
  clusters: DumpCluster[];
  /** ClusterLoadAssignment by cluster (EDS service) name: EndpointsConfigDump (include_eds). */
  endpoints: Map<string, JsonRecord>;
  secrets: DumpSecret[];
  /** How the dump is written, when it is not Envoy's current snake_case v3 layout (e.g.
   *  'camelCase JSON names (istiod /debug/config_dump, jsonpb)', 'Envoy <= 1.12 listener layout'). */
  layout: string[];
  /** Sections that are present but from which nothing could be read, and similar problems. */
  warnings: string[];
}

const TYPE_PREFIX = 'type.googleapis.com/envoy.admin.';

/**
 * Parse a /config_dump document. Sections are selected by `@type` (v2 and v3 admin types);
 * unknown types are ignored and missing sections give empty lists, so listener-only and
 * secrets-only dumps are fine. A bare section (one object with `@type`) is accepted too, and
 * so is the `configs` map of Envoy < 1.8 (`{"configs": {"listeners": {...}}}`). Sections in
 * camelCase JSON names (jsonpb: istiod's /debug/config_dump) are read like snake_case ones.
 */
export function parseConfigDump(json: unknown): ConfigDump {
  const dump: ConfigDump = { sections: [], bootstrap: null, listeners: [], clusters: [], endpoints: new Map(), secrets: [], layout: [], warnings: [] };
  const root = asRecord(json);
  if (!root) return dump;
  const configsMap = asRecord(root.configs);
  const configs = Array.isArray(root.configs) ? root.configs
    : configsMap ? Object.values(configsMap)
    : typeof root['@type'] === 'string' ? [root] : [];
  if (configsMap) addLayout(dump, 'a "configs" map (Envoy < 1.8)');
  for (const raw of configs) {
    let section = asRecord(raw);
    const type = asString(section?.['@type']);
    if (!section || !type) continue;
    const short = type.slice(type.lastIndexOf('.') + 1);
    dump.sections.push(short);
    if (!type.startsWith(TYPE_PREFIX)) continue;
    if (looksCamelCase(section)) {
      section = toSnakeCase(section) as JsonRecord;
      addLayout(dump, 'camelCase JSON names (jsonpb, e.g. istiod /debug/config_dump)');
    }
    switch (short) {
      case 'BootstrapConfigDump':
        dump.bootstrap = asRecord(section.bootstrap);
        break;
      case 'ListenersConfigDump': {
        const before = dump.listeners.length;
        readListeners(section, dump);
        if (dump.listeners.length === before) dump.warnings.push(emptySection('ListenersConfigDump', 'listener', section));
        break;
      }
      case 'ClustersConfigDump': {
        const before = dump.clusters.length;
        readClusters(section, dump.clusters);
        if (dump.clusters.length === before) dump.warnings.push(emptySection('ClustersConfigDump', 'cluster', section));
        break;
      }
      case 'EndpointsConfigDump':
        readEndpoints(section, dump.endpoints);
        break;
      case 'SecretsConfigDump':
        readSecrets(section, dump.secrets);
        break;
      default:
        break;
    }
  }
  return dump;
}

function addLayout(dump: ConfigDump, layout: string): void {
  if (!dump.layout.includes(layout)) dump.layout.push(layout);
}

/** The warning for a listener or cluster section that gave nothing, naming the keys it had. */
function emptySection(section: string, what: string, raw: JsonRecord): string {
  const keys = Object.keys(raw).filter((k) => k !== '@type' && k !== 'version_info' && k !== 'last_updated');
  const entries = keys.reduce((n, k) => n + (Array.isArray(raw[k]) ? (raw[k] as unknown[]).length : 0), 0);
  return keys.length === 0
    ? `${section} is empty: this dump holds no ${what}s`
    : `${section}: no ${what} could be read from ${entries} entr${entries === 1 ? 'y' : 'ies'} under ${keys.join(', ')} (layout not recognised)`;
}

const LIVE_STATES = [['active', 'active_state'], ['warming', 'warming_state'], ['draining', 'draining_state']] as const;

/** Envoy <= 1.12 (v2alpha): one list per state, each entry `{ version_info, listener }`. */
const V2_LISTS = [['active', 'dynamic_active_listeners'], ['warming', 'dynamic_warming_listeners'], ['draining', 'dynamic_draining_listeners']] as const;

function readListeners(section: JsonRecord, dump: ConfigDump): void {
  const out = dump.listeners;
  for (const raw of asArray(section.static_listeners)) {
    // Envoy < 1.9 listed static listeners bare, later wrapped as `{ listener, last_updated }`.
    const listener = asRecord(asRecord(raw)?.listener) ?? bareResource(raw);
    if (listener) out.push({ name: listenerName(listener, null), state: 'active', listener, static: true, error: null });
  }
  for (const [state, key] of V2_LISTS) {
    const list = asArray(section[key]);
    if (list.length > 0) addLayout(dump, 'Envoy <= 1.12 listener lists (dynamic_active_listeners, ...)');
    for (const raw of list) {
      const listener = asRecord(asRecord(raw)?.listener);
      if (listener) out.push({ name: listenerName(listener, null), state, listener, static: false, error: null });
    }
  }
  const seen = new Set<string>();
  for (const raw of asArray(section.dynamic_listeners)) {
    const entry = asRecord(raw);
    if (!entry) continue;
    const entryName = asString(entry.name);
    for (const [state, key] of LIVE_STATES) {
      const listener = asRecord(asRecord(entry[key])?.listener);
      if (listener) out.push({ name: listenerName(listener, entryName), state, listener, static: false, error: null });
    }
    const errorState = asRecord(entry.error_state);
    const failed = asRecord(errorState?.failed_configuration);
    if (errorState) {
      const listener = failed ?? {};
      const name = listenerName(listener, entryName);
      // Envoy may list the same rejected listener twice (once unnamed): keep one.
      const key = `${name}\u0000${JSON.stringify(errorState.details ?? '')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ name, state: 'error', listener, static: false, error: asString(errorState.details) });
    }
  }
}

/** A resource listed without its wrapper (old layouts): a record with a `name` and no `@type` wrapper keys. */
function bareResource(raw: unknown): JsonRecord | null {
  const r = asRecord(raw);
  return r && typeof r.name === 'string' ? r : null;
}

function listenerName(listener: JsonRecord, entryName: string | null): string {
  const name = asString(listener.name) ?? entryName;
  if (name) return name;
  const sock = asRecord(asRecord(listener.address)?.socket_address);
  if (sock) return `${asString(sock.address) ?? ''}_${String(sock.port_value ?? '')}`;
  return '(unnamed)';
}

function readClusters(section: JsonRecord, out: DumpCluster[]): void {
  const lists: [unknown, 'active' | 'warming', boolean][] = [
    [section.static_clusters, 'active', true],
    [section.dynamic_active_clusters, 'active', false],
    [section.dynamic_warming_clusters, 'warming', false],
  ];
  for (const [list, state, isStatic] of lists) {
    for (const raw of asArray(list)) {
      const cluster = asRecord(asRecord(raw)?.cluster) ?? bareResource(raw);
      const name = asString(cluster?.name);
      if (cluster && name !== null) out.push({ name, state, static: isStatic, cluster });
    }
  }
}

function readEndpoints(section: JsonRecord, out: Map<string, JsonRecord>): void {
  for (const list of [section.static_endpoint_configs, section.dynamic_endpoint_configs]) {
    for (const raw of asArray(list)) {
      const cla = asRecord(asRecord(raw)?.endpoint_config);
      const name = asString(cla?.cluster_name);
      if (cla && name !== null) out.set(name, cla);
    }
  }
}

function readSecrets(section: JsonRecord, out: DumpSecret[]): void {
  const lists: [unknown, 'active' | 'warming', boolean][] = [
    [section.static_secrets, 'active', true],
    [section.dynamic_active_secrets, 'active', false],
    [section.dynamic_warming_secrets, 'warming', false],
  ];
  for (const [list, state, isStatic] of lists) {
    for (const raw of asArray(list)) {
      const entry = asRecord(raw);
      if (!entry) continue;
      const secret = asRecord(entry.secret);
      const name = asString(entry.name) ?? asString(secret?.name);
      if (name !== null) out.push({ name, state, static: isStatic, secret });
    }
  }
}

const ISTIO_NODE = /^(sidecar|router|waypoint)~/;
/** Clusters only Istio's xDS creates (pilot/pkg/networking/util: BlackHoleCluster, PassthroughCluster, InboundPassthroughCluster*). */
const ISTIO_CLUSTERS = /^(BlackHoleCluster|PassthroughCluster|InboundPassthroughCluster(Ipv4|Ipv6)?)$/;
const ISTIO_LISTENERS = new Set(['virtualInbound', 'virtualOutbound', 'connect_originate', 'connect_terminate']);

/**
 * Does this dump (parsed, or the raw /config_dump JSON) come from an Istio proxy? True when the node id is `sidecar~...`/`router~...`/`waypoint~...`,
 * node metadata carries ISTIO_VERSION, or (for partial dumps) Istio's own listeners, cluster
 * names (`outbound|port|subset|host`) or SDS secrets (`ROOTCA`) are present.
 */
export function isIstioConfigDump(dumpOrJson: ConfigDump | unknown): boolean {
  const dump = isParsedDump(dumpOrJson) ? dumpOrJson : parseConfigDump(dumpOrJson);
  const node = asRecord(dump.bootstrap?.node);
  const id = asString(node?.id);
  if (id && ISTIO_NODE.test(id)) return true;
  if (asString(asRecord(node?.metadata)?.ISTIO_VERSION)) return true;
  if (dump.listeners.some((l) => ISTIO_LISTENERS.has(l.name))) return true;
  if (dump.clusters.some((c) => /^(outbound|inbound)\|/.test(c.name) || ISTIO_CLUSTERS.test(c.name))) return true;
  return dump.secrets.some((s) => s.name === 'ROOTCA');
}

function isParsedDump(v: unknown): v is ConfigDump {
  return asRecord(v) !== null && Array.isArray((v as ConfigDump).sections) && (v as ConfigDump).endpoints instanceof Map;
}

/** Options of inspectConfigDump/postureOf. */
export interface PostureOptions {
  /** Decoded certificates by PEM block, shared across dumps (e.g. a bounded cache for an audit). */
  certificateCache?: Map<string, CertificateInfo>;
}

/**
 * The TLS posture of one proxy from its /config_dump (already JSON-parsed): listeners with
 * per-filter-chain TLS, inbound modes per port, upstream TLS per cluster, SDS secrets.
 * `opts.now` (default: the current time) decides what is expired.
 */
export function inspectConfigDump(json: unknown, opts: { now?: Date } & PostureOptions = {}): ProxyPosture {
  const dump = parseConfigDump(json);
  return postureOf(dump, opts.now ?? new Date(), opts);
}

export function postureOf(dump: ConfigDump, now: Date, opts: PostureOptions = {}): ProxyPosture {
  const listeners = inspectListeners(dump.listeners);
  const secrets = inspectSecrets(dump.secrets, now, opts.certificateCache);
  markCertificateWarming(listeners, secrets);
  return {
    proxy: describeNode(dump.bootstrap),
    inbound: inboundModes(listeners),
    listeners,
    clusters: inspectClusters(dump.clusters, dump.endpoints),
    secrets,
    sections: dump.sections,
    ...(dump.layout.length > 0 ? { layout: dump.layout } : {}),
    ...(dump.warnings.length > 0 ? { warnings: dump.warnings } : {}),
  };
}
