import type { IstioRequestSeries, PromSample } from './types.js';

/**
 * Parse the Prometheus text exposition format (Envoy's /stats/prometheus): `# HELP`/`# TYPE`
 * and blank lines are skipped, label values are unescaped (\\, \", \n), and an optional
 * timestamp after the value is ignored. Malformed lines are skipped.
 */
export function parsePrometheus(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseSampleLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseSampleLine(line: string): PromSample | null {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) return null;
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ' || line[pos] === ',') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const keyMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(pos));
      if (!keyMatch) return null;
      pos += keyMatch[0].length;
      if (line[pos] !== '=' || line[pos + 1] !== '"') return null;
      pos += 2;
      let value = '';
      for (;;) {
        if (pos >= line.length) return null;
        const ch = line[pos++];
        if (ch === '"') break;
        if (ch === '\\') {
          const next = line[pos++];
          value += next === 'n' ? '\n' : next;
        } else {
          value += ch;
        }
      }
      labels[keyMatch[0]] = value;
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  const value = parsePromValue(rest[0]);
  if (value === null) return null;
  return { name, labels, value };
}

function parsePromValue(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  return Number.isNaN(n) ? null : n;
}

/** The `istio_requests_total` series, with Istio's standard labels named. */
export function istioRequests(samples: PromSample[]): IstioRequestSeries[] {
  const label = (s: PromSample, key: string): string | null => {
    const v = s.labels[key];
    return v === undefined || v === '' ? null : v;
  };
  return samples
    .filter((s) => s.name === 'istio_requests_total')
    .map((s) => ({
      reporter: label(s, 'reporter'),
      sourceWorkload: label(s, 'source_workload'),
      sourceNamespace: label(s, 'source_workload_namespace'),
      sourcePrincipal: label(s, 'source_principal'),
      destinationWorkload: label(s, 'destination_workload'),
      destinationNamespace: label(s, 'destination_workload_namespace'),
      destinationPrincipal: label(s, 'destination_principal'),
      destinationService: label(s, 'destination_service'),
      destinationServiceName: label(s, 'destination_service_name'),
      connectionSecurityPolicy: label(s, 'connection_security_policy'),
      requestProtocol: label(s, 'request_protocol'),
      responseCode: label(s, 'response_code'),
      responseFlags: label(s, 'response_flags'),
      value: s.value,
      labels: s.labels,
    }));
}
