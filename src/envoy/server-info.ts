import type { ServerInfo } from './types.js';
import { asRecord, asString } from './json-access.js';

/**
 * Parse Envoy's /server_info. The Envoy version is the second `/`-separated field of `version`
 * (`<sha>/1.30.5-dev/Clean/RELEASE/BoringSSL`); the service node comes from `node.id` (newer
 * Envoy) or `command_line_options.service_node`; Istio's version from node metadata.
 */
export function parseServerInfo(json: unknown): ServerInfo {
  const r = asRecord(json) ?? {};
  const version = asString(r.version);
  const envoyVersion = version ? (/\d+\.\d+\.\d+/.exec(version.split('/')[1] ?? version)?.[0] ?? null) : null;
  const node = asRecord(r.node);
  const cli = asRecord(r.command_line_options);
  const nodeId = asString(node?.id);
  const cliNode = asString(cli?.service_node);
  const metadata = asRecord(node?.metadata);
  return {
    version,
    envoyVersion,
    state: asString(r.state),
    serviceNode: nodeId || cliNode || null,
    istioVersion: asString(metadata?.ISTIO_VERSION),
    uptimeSeconds: parseDurationSeconds(r.uptime_current_epoch),
  };
}

/** google.protobuf.Duration in JSON: "188s", "1.5s". */
export function parseDurationSeconds(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return null;
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(v.trim());
  return m ? Number(m[1]) : null;
}
