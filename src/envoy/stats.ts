import type { StatsSnapshot } from './types.js';
import { asArray, asNumber, asRecord, parseJsonOrText } from './json-access.js';

/**
 * Parse Envoy's /stats output, text (`name: value` lines) or `?format=json`
 * (`{"stats":[{"name":..,"value":..},{"histograms":..}]}`); the format is detected from the body.
 * Counters and gauges are kept; histograms and anything non-numeric are ignored.
 */
export function parseStats(body: string): StatsSnapshot {
  return parseJsonOrText(body, parseStatsJson, parseStatsText);
}

function parseStatsText(body: string): StatsSnapshot {
  const stats: StatsSnapshot = new Map();
  for (const rawLine of body.split('\n')) {
    const line = rawLine.trimEnd();
    const sep = line.lastIndexOf(': ');
    if (sep <= 0) continue;
    const valueText = line.slice(sep + 2).trim();
    // Histograms print `P0(nan,0) P25(...)` or `No recorded values`: not a plain number.
    if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(valueText)) continue;
    stats.set(line.slice(0, sep), Number(valueText));
  }
  return stats;
}

function parseStatsJson(json: unknown): StatsSnapshot {
  const stats: StatsSnapshot = new Map();
  for (const entry of asArray(asRecord(json)?.stats)) {
    const e = asRecord(entry);
    if (!e || typeof e.name !== 'string') continue;
    // proto3 JSON omits zero values and prints 64-bit integers as strings.
    const value = e.value === undefined ? 0 : asNumber(e.value);
    if (value !== null) stats.set(e.name, value);
  }
  return stats;
}

/**
 * after - before for one stat. A stat missing from `after` gives null (no evidence); missing only
 * from `before` counts from 0 (Envoy creates stats lazily).
 */
export function statDelta(before: StatsSnapshot, after: StatsSnapshot, name: string): number | null {
  const a = after.get(name);
  if (a === undefined) return null;
  return a - (before.get(name) ?? 0);
}

/** Names in `snapshot` matching a predicate, sorted (for evidence listings). */
export function statNames(snapshot: StatsSnapshot, match: (name: string) => boolean): string[] {
  return [...snapshot.keys()].filter(match).sort();
}
