import { InputError } from '../core/errors.js';
import { readInputJson, readInputText } from '../io/read-input.js';
import { isIstioConfigDump, parseConfigDump, postureOf } from '../envoy/config-dump.js';
import { parseCerts } from '../envoy/certs.js';
import { parseStats } from '../envoy/stats.js';
import { asRecord } from '../envoy/json-access.js';
import type { ProxyPosture } from '../envoy/types.js';
import type { InspectResult } from './types.js';
import { assembleInspectResult } from './assemble.js';

/** Was anything at all read from the dump (a node id, a listener, a cluster, a secret)? */
export function readAnything(result: ProxyPosture): boolean {
  return result.proxy.id !== null || result.listeners.length > 0 || result.clusters.length > 0 || result.secrets.length > 0;
}

export interface InspectOptions {
  file: string;
  certs?: string;
  stats?: string;
  now?: Date;
}

/** Read the files given to `mesh-verify inspect` and build its result; bad input -> InputError. */
export async function runInspect(opts: InspectOptions): Promise<InspectResult> {
  const json = await readInputJson(opts.file, 'config dump');
  const root = asRecord(json);
  if (!root || (!Array.isArray(root.configs) && !asRecord(root.configs) && typeof root['@type'] !== 'string')) {
    throw new InputError(opts.file, 'is not an Envoy config dump (no "configs" list)', 'capture it with: kubectl exec <pod> -c istio-proxy -- pilot-agent request GET config_dump');
  }
  const dump = parseConfigDump(json);
  const posture = postureOf(dump, opts.now ?? new Date());
  // Nothing read at all is no verdict on the proxy (exit 3 in the CLI), not "not Istio".
  if (readAnything(posture) && !isIstioConfigDump(dump)) {
    throw new InputError(
      opts.file,
      'not an Istio proxy config dump (no sidecar~/router~/waypoint~ node id and no Istio listeners); mesh-verify inspects Istio proxies',
    );
  }
  let certs;
  if (opts.certs) {
    const certsJson = await readInputJson(opts.certs, '/certs file');
    if (!asRecord(certsJson) || !Array.isArray(asRecord(certsJson)?.certificates)) {
      throw new InputError(opts.certs, 'is not Envoy /certs output (no "certificates" list)');
    }
    certs = parseCerts(certsJson);
  }
  let stats;
  if (opts.stats) {
    stats = parseStats(await readInputText(opts.stats, '/stats file'));
    if (stats.size === 0) throw new InputError(opts.stats, 'holds no Envoy stats (expected `name: value` lines or ?format=json)');
  }
  return assembleInspectResult(posture, certs, stats, opts.now ?? new Date());
}
