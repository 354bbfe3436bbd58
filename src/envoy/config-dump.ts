import type { CertificateInfo, ProxyPosture } from './types.js';
import { asArray, asRecord, asString, type JsonRecord } from './json-access.js';
import { inspectListeners, inboundModes } from './listener-tls.js';
import { inspectClusters } from './cluster-tls.js';
import { inspectSecrets } from './secret-info.js';
import { describeNode } from './node-info.js';

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
}

const TYPE_PREFIX = 'type.googleapis.com/envoy.admin.';

/**
 * Parse a /config_dump document. Sections are selected by `@type` (v2 and v3 admin types);
 * unknown types are ignored and missing sections give empty lists, so listener-only and
 * secrets-only dumps are fine. A bare section (one object with `@type`) is accepted too.
 */
export function parseConfigDump(json: unknown): ConfigDump {
  const dump: ConfigDump = { sections: [], bootstrap: null, listeners: [], clusters: [], endpoints: new Map(), secrets: [] };
  const root = asRecord(json);
  if (!root) return dump;
  const configs = Array.isArray(root.configs) ? root.configs : typeof root['@type'] === 'string' ? [root] : [];
  for (const raw of configs) {
    const section = asRecord(raw);
    const type = asString(section?.['@type']);
    if (!section || !type) continue;
    const short = type.slice(type.lastIndexOf('.') + 1);
    dump.sections.push(short);
    if (!type.startsWith(TYPE_PREFIX)) continue;
    switch (short) {
      case 'BootstrapConfigDump':
        dump.bootstrap = asRecord(section.bootstrap);
        break;
      case 'ListenersConfigDump':
        readListeners(section, dump.listeners);
        break;
      case 'ClustersConfigDump':
        readClusters(section, dump.clusters);
        break;
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

const LIVE_STATES = [['active', 'active_state'], ['warming', 'warming_state'], ['draining', 'draining_state']] as const;

function readListeners(section: JsonRecord, out: DumpListener[]): void {
  for (const raw of asArray(section.static_listeners)) {
    const listener = asRecord(asRecord(raw)?.listener);
    if (listener) out.push({ name: listenerName(listener, null), state: 'active', listener, static: true, error: null });
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
      const cluster = asRecord(asRecord(raw)?.cluster);
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

const ISTIO_NODE = /^(sidecar|router)~/;
const ISTIO_LISTENERS = new Set(['virtualInbound', 'virtualOutbound', 'connect_originate', 'connect_terminate']);

/**
 * Does this dump (parsed, or the raw /config_dump JSON) come from an Istio proxy? True when the node id is `sidecar~...`/`router~...`,
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
  if (dump.clusters.some((c) => /^(outbound|inbound)\|/.test(c.name))) return true;
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
  return {
    proxy: describeNode(dump.bootstrap),
    inbound: inboundModes(listeners),
    listeners,
    clusters: inspectClusters(dump.clusters, dump.endpoints),
    secrets: inspectSecrets(dump.secrets, now, opts.certificateCache),
    sections: dump.sections,
  };
}
