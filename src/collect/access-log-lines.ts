/**
 * The access-log lines of one run: those that carry one of its request ids. Envoy logs the id
 * quoted in both Istio's JSON and text formats ("request_id":"mv-..." / "mv-..."), so matching
 * the quoted id tells `mv-r-1` from `mv-r-10`.
 */
export function runLogLines(logText: string, requestIds: readonly string[]): string[] {
  if (requestIds.length === 0) return [];
  const ids = new Set(requestIds);
  const out: string[] = [];
  for (const raw of logText.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line) continue;
    for (const m of line.matchAll(/"([^"\s]{1,200})"/g)) {
      if (ids.has(m[1])) { out.push(line); break; }
    }
  }
  return out;
}
