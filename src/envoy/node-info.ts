import type { ProxyPosture } from './types.js';
import { asNumber, asRecord, asString, type JsonRecord } from './json-access.js';

/**
 * Who the proxy is, from the bootstrap's node: Istio ids look like
 * `sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local` (gateways: `router~`, ambient
 * waypoints: `waypoint~`; istio pkg/model/proxy.go NodeType, 1.30.3).
 */
export function describeNode(bootstrap: JsonRecord | null): ProxyPosture['proxy'] {
  const node = asRecord(bootstrap?.node);
  const id = asString(node?.id);
  const metadata = asRecord(node?.metadata);
  const parts = id ? id.split('~') : [];
  const kind = parts[0];
  const type = kind === 'sidecar' || kind === 'router' || kind === 'waypoint' ? kind : null;
  let podName = asString(metadata?.NAME);
  let namespace = asString(metadata?.NAMESPACE);
  if (type && parts[2]) {
    const dot = parts[2].lastIndexOf('.');
    if (!podName) podName = dot > 0 ? parts[2].slice(0, dot) : parts[2];
    if (!namespace && dot > 0) namespace = parts[2].slice(dot + 1);
  }
  return {
    type,
    id,
    istioVersion: asString(metadata?.ISTIO_VERSION),
    envoyVersion: envoyVersion(node),
    namespace,
    podName,
  };
}

/**
 * Envoy >= 1.13: `user_agent_build_version.version`; earlier: `build_version`, a string
 * `<sha>/<version>/<status>/<build type>/<ssl>` (e.g. `48bc83d8.../1.12.0-dev/Clean/RELEASE/BoringSSL`).
 */
function envoyVersion(node: JsonRecord | null): string | null {
  const v = asRecord(asRecord(node?.user_agent_build_version)?.version);
  if (!v) {
    const legacy = asString(node?.build_version)?.split('/')[1];
    return legacy && /^\d+\.\d+/.test(legacy) ? legacy : null;
  }
  const major = asNumber(v.major_number) ?? 0;
  const minor = asNumber(v.minor_number) ?? 0;
  const patch = asNumber(v.patch) ?? 0;
  return `${major}.${minor}.${patch}`;
}
