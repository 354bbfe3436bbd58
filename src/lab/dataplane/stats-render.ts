import type { IstioLabels, StatsStore } from './stats-store.js';

/**
 * /stats and /stats/prometheus renderings of a StatsStore, in Envoy's formats.
 * Istio's standard metrics live in Envoy's store under tag-encoded names
 * (`reporter=.=destination;.;...;.;istio_requests_total`), which is why Istio's stats
 * inclusion list carries the prefix `reporter=`.
 */
export function istioStatName(labels: IstioLabels, metric = 'istio_requests_total'): string {
  return Object.entries(labels).map(([k, v]) => `${k}=.=${v};.;`).join('') + metric;
}

function entries(stats: StatsStore): [string, number][] {
  const all: [string, number][] = [...stats.counters, ...stats.gauges];
  for (const { labels, value } of stats.requests.values()) all.push([istioStatName(labels), value]);
  return all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function filtered(stats: StatsStore, filter: string | null): [string, number][] {
  const all = entries(stats);
  if (!filter) return all;
  const re = new RegExp(filter);
  return all.filter(([name]) => re.test(name));
}

/** `GET /stats` (text): one `name: value` line per counter and gauge, sorted by name. */
export function renderStatsText(stats: StatsStore, filter: string | null = null): string {
  return filtered(stats, filter).map(([n, v]) => `${n}: ${v}\n`).join('');
}

/** `GET /stats?format=json`. */
export function renderStatsJson(stats: StatsStore, filter: string | null = null): string {
  const list: unknown[] = filtered(stats, filter).map(([name, value]) => ({ name, value }));
  list.push({ histograms: { supported_quantiles: [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100], computed_quantiles: [] } });
  return JSON.stringify({ stats: list }, null, 2);
}

/** Tag extraction as Istio's bootstrap `stats_tags` (and Envoy's defaults) do it. */
const TAGS: { tag: string; re: RegExp }[] = [
  { tag: 'cluster_name', re: /^cluster\.((.+?(\..+?\.svc\.cluster\.local)?)\.)/ },
  { tag: 'listener_address', re: /^listener\.(((?:[_.0-9]*|[_[\]aAbBcCdDeEfF0-9]*))\.)/ },
  { tag: 'http_conn_manager_prefix', re: /^http\.(((?:[_.0-9]*|[_[\]aAbBcCdDeEfF0-9]*))\.)/ },
  { tag: 'response_code', re: /_rq(_(\d{3}))$/ },
  { tag: 'response_code_class', re: /_rq(_(\dxx))$/ },
];

export function extractTags(name: string): { name: string; tags: Record<string, string> } {
  let rest = name;
  const tags: Record<string, string> = {};
  for (const { tag, re } of TAGS) {
    const m = re.exec(rest);
    if (!m || m[2] === undefined || m[2] === '') continue;
    tags[tag] = m[2];
    rest = rest.slice(0, m.index) + rest.slice(m.index).replace(m[1], '');
    rest = rest.replace(/\.\./g, '.').replace(/\.$/, '');
  }
  return { name: rest, tags };
}

function promName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

function promLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** `GET /stats/prometheus`: Istio metrics plus `envoy_`-prefixed, tag-extracted Envoy stats. */
export function renderPrometheus(stats: StatsStore): string {
  const families = new Map<string, { type: 'counter' | 'gauge'; lines: string[] }>();
  const add = (family: string, type: 'counter' | 'gauge', line: string): void => {
    const f = families.get(family) ?? { type, lines: [] };
    f.lines.push(line);
    families.set(family, f);
  };
  for (const { labels, value } of stats.requests.values()) add('istio_requests_total', 'counter', `istio_requests_total${promLabels(labels)} ${value}`);
  const emit = (map: Map<string, number>, type: 'counter' | 'gauge'): void => {
    for (const [name, value] of map) {
      const t = extractTags(name);
      const family = `envoy_${promName(t.name)}`;
      add(family, type, `${family}${promLabels(t.tags)} ${value}`);
    }
  };
  emit(stats.counters, 'counter');
  emit(stats.gauges, 'gauge');
  return [...families.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([family, f]) => `# TYPE ${family} ${f.type}\n${f.lines.sort().join('\n')}\n`)
    .join('\n');
}
