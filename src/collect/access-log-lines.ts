import { requestIdKey } from '../bundle/correlation.js';

/**
 * The access-log lines of one run: those that carry one of its ids (our x-mesh-verify-id, or an
 * x-request-id an app saw for one of our requests; see src/bundle/correlation.ts). Envoy logs
 * values quoted in both Istio's JSON and text formats ("mesh_verify_id":"mv-..." / "mv-..."), so
 * matching a quoted value tells `mv-r-1` from `mv-r-10`. UUIDs match whatever trace decision a
 * proxy packed into them (requestIdKey).
 */
export function runLogLines(logText: string, ids: readonly string[]): string[] {
  if (ids.length === 0) return [];
  const keys = new Set(ids.map(requestIdKey));
  const out: string[] = [];
  for (const raw of logText.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line) continue;
    // Every quoted value, spaces included: a value such as an issuer DN ("O=x,CN=a b") must not
    // shift the pairing of quotes, or the ids after it would be missed.
    for (const m of line.matchAll(/"((?:[^"\\]|\\.){1,400})"/g)) {
      if (keys.has(requestIdKey(m[1]))) { out.push(line); break; }
    }
  }
  return out;
}
