import { asArray, asRecord, type JsonRecord } from './json-access.js';

/**
 * Protobuf JSON comes in two spellings: Envoy's admin API prints the proto field names
 * (`dynamic_listeners`, `transport_socket`), while Go's jsonpb without `OrigName` (what istiod's
 * `/debug/config_dump` and istioctl's proto printers use) prints lowerCamelCase JSON names
 * (`dynamicListeners`, `transportSocket`). The parsers read snake_case; a camelCase section is
 * rewritten to it first. `@type` and the contents of map/Struct fields (metadata, TypedStruct
 * values, transport socket `match` criteria such as `tlsMode`) are user data and stay as written.
 */

/** A lowerCamelCase key with at least one capital: a JSON name, never a proto field name. */
const CAMEL = /^[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*$/;

/** Fields (snake_case) whose value is a google.protobuf.Struct or a map with user-chosen keys. */
const VERBATIM = new Set(['filter_metadata', 'typed_filter_metadata', 'per_filter_config', 'static_layer', 'labels']);

const snakeCache = new Map<string, string>();
function snake(key: string): string {
  let s = snakeCache.get(key);
  if (s === undefined) {
    s = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    snakeCache.set(key, s);
  }
  return s;
}

/** Does this record (or the first entry of one of its lists) use lowerCamelCase JSON names? */
export function looksCamelCase(section: JsonRecord): boolean {
  const probe = (r: JsonRecord | null): boolean => r !== null && Object.keys(r).some((k) => CAMEL.test(k));
  if (probe(section)) return true;
  for (const v of Object.values(section)) {
    const first = asRecord(asArray(v)[0]) ?? (Array.isArray(v) ? null : asRecord(v));
    if (probe(first)) return true;
    // BootstrapConfigDump: the camelCase is one level down (bootstrap.node.userAgentName, ...).
    if (first && !Array.isArray(v)) for (const inner of Object.values(first)) if (probe(asRecord(inner))) return true;
  }
  return false;
}

/** A copy of `value` with every lowerCamelCase key spelled as its proto field name. */
export function toSnakeCase(value: unknown): unknown {
  return convert(value, null);
}

/**
 * Struct-valued children that depend on where they are: a node's `metadata` (ISTIO_VERSION,
 * NAME, ...; elsewhere `metadata` is envoy.config.core.v3.Metadata, whose `filter_metadata` map
 * is verbatim) and a transport socket match's `match` criteria (`tlsMode`).
 */
const VERBATIM_CHILD: Record<string, string> = { node: 'metadata', transport_socket_matches: 'match' };

function convert(value: unknown, verbatimChild: string | null): unknown {
  if (Array.isArray(value)) return value.map((v) => convert(v, verbatimChild));
  const rec = asRecord(value);
  if (!rec) return value;
  // A TypedStruct's `value` and a v2 filter's `config` are google.protobuf.Struct.
  const typedStruct = typeof rec['@type'] === 'string' && rec['@type'].endsWith('.TypedStruct');
  const out: JsonRecord = {};
  for (const [k, v] of Object.entries(rec)) {
    const key = CAMEL.test(k) ? snake(k) : k;
    const verbatim = VERBATIM.has(key) || key === verbatimChild || key === 'config' || (typedStruct && key === 'value');
    out[key] = verbatim ? v : convert(v, VERBATIM_CHILD[key] ?? null);
  }
  return out;
}
