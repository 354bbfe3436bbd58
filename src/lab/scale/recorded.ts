import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../../core/errors.js';
import type { InboundMode } from '../../envoy/types.js';
import { pinnedEnvoyVersion } from '../envoy/binary.js';
import type { ProxySpec } from './plan.js';

/**
 * The admin answers the scale fleet serves, recorded from REAL Envoy processes by
 * scripts/record-fleet-answers.ts (`npm run fixtures:fleet`) into
 * fixtures/envoy/real-<version>/fleet/<template>/. One template per configuration the fleet plan
 * needs (inbound mode per port, a rejected listener, the two kinds of gateway); each fleet pod
 * serves its template's answers with the recorded identity values substituted (substitute.ts).
 */

/** Files of one recorded template (what the audit and istioctl read of an Envoy admin). */
export const RECORDED_FILES = {
  configDump: 'config_dump.json', // GET /config_dump?include_eds
  stats: 'stats.txt', // GET /stats
  statsJson: 'stats.json', // GET /stats?format=json
  certs: 'certs.json', // GET /certs
  clusters: 'clusters.json', // GET /clusters?format=json
  clustersText: 'clusters.txt', // GET /clusters
  serverInfo: 'server_info.json', // GET /server_info
  context: 'context.json', // what the recording configured (identity, PEMs), for substitution
  queries: 'queries.json', // GET of the audit's own queries, to check config-dump-query.ts
} as const;

export type TemplateRole = 'sidecar' | 'gateway' | 'gateway-api';

export interface TemplateSpec {
  key: string;
  role: TemplateRole;
  /** Application ports of a sidecar ([] for gateways). */
  ports: number[];
  /** Inbound mode in effect for [0 (catch-all), ...ports]. */
  modes: InboundMode[];
  /** Envoy rejected one listener update (listener 0.0.0.0_9411). */
  listenerError: boolean;
}

const LETTER: Record<InboundMode, string> = { STRICT: 'S', PERMISSIVE: 'P', PLAINTEXT: 'D' } as Record<InboundMode, string>;

export function templateKey(t: Pick<TemplateSpec, 'role' | 'ports' | 'modes' | 'listenerError'>): string {
  if (t.role !== 'sidecar') return t.role;
  return `sidecar-${t.ports.join('+')}-${t.modes.map((m) => LETTER[m] ?? m).join('')}${t.listenerError ? '-rejected' : ''}`;
}

function sidecar(ports: number[], modes: InboundMode[], listenerError = false): TemplateSpec {
  const t = { role: 'sidecar' as const, ports, modes, listenerError };
  return { ...t, key: templateKey(t) };
}

/**
 * Every configuration planFleet() produces: one port or two (8080, 9090) with the same mode on
 * every port (STRICT, PERMISSIVE, DISABLE), port-level PERMISSIVE on 9090 under a STRICT
 * namespace, a rejected listener under a STRICT or PERMISSIVE namespace, and the gateways.
 */
export const FLEET_TEMPLATES: TemplateSpec[] = [
  ...(['STRICT', 'PERMISSIVE', 'PLAINTEXT'] as InboundMode[]).flatMap((m) => [sidecar([8080], [m, m]), sidecar([8080, 9090], [m, m, m])]),
  sidecar([8080, 9090], ['STRICT', 'STRICT', 'PERMISSIVE']),
  ...(['STRICT', 'PERMISSIVE'] as InboundMode[]).flatMap((m) => [sidecar([8080], [m, m], true), sidecar([8080, 9090], [m, m, m], true)]),
  { key: 'gateway', role: 'gateway', ports: [], modes: [], listenerError: false },
  { key: 'gateway-api', role: 'gateway-api', ports: [], modes: [], listenerError: false },
];

/** The template a fleet proxy serves. */
export function templateKeyOf(p: ProxySpec): string {
  if (p.gateway) return p.gatewayApi ? 'gateway-api' : 'gateway';
  return templateKey({ role: 'sidecar', ports: p.ports, modes: [0, ...p.ports].map((port) => p.inbound[port] ?? 'STRICT'), listenerError: p.variant === 'listener-error' });
}

/** What the recording configured, to be replaced per fleet pod. */
export interface RecordedContext {
  key: string;
  envoyVersion: string;
  istioVersion: string;
  podName: string;
  namespace: string;
  app: string;
  serviceAccount: string;
  podIp: string;
  /** SDS `default` chain and `ROOTCA` bundle the recorded Envoy was given. */
  chainPem: string;
  rootPem: string;
  /** Gateway credentials by SDS name (missing Secrets are absent). */
  credentials: Record<string, string>;
}

export interface RecordedAnswer { status: number; body: string }

export interface RecordedTemplate {
  key: string;
  context: RecordedContext;
  configDump: { configs: Record<string, unknown>[] };
  stats: string;
  statsJson: { stats: Record<string, unknown>[] };
  certs: { certificates: Record<string, unknown>[] };
  clusters: Record<string, unknown>;
  clustersText: string;
  serverInfo: Record<string, unknown>;
  /** Path -> what the real Envoy answered (the audit's queries). */
  queries: Record<string, RecordedAnswer>;
}

/** Where the answers of the pinned Envoy are (or are written). */
export function fleetFixtureDir(version = pinnedEnvoyVersion()): string {
  return fileURLToPath(new URL(`../../../fixtures/envoy/real-${version}/fleet`, import.meta.url));
}

const cache = new Map<string, Map<string, RecordedTemplate>>();

/** Read every recorded template (once per process: the fleet shares them, read-only). */
export function loadRecordedTemplates(dir = fleetFixtureDir()): Map<string, RecordedTemplate> {
  const hit = cache.get(dir);
  if (hit) return hit;
  const out = new Map<string, RecordedTemplate>();
  for (const t of FLEET_TEMPLATES) {
    const at = join(dir, t.key);
    if (!existsSync(join(at, RECORDED_FILES.context))) {
      throw new EnvironmentError(`the scale fleet has no recorded Envoy answers for ${t.key} (${at})`, 'npm run fixtures:fleet (records them from the pinned Envoy)');
    }
    // Envoy's answers are stored gzip-compressed (`<file>.gz`), context.json as text.
    const read = (f: string) => (f === RECORDED_FILES.context ? readFileSync(join(at, f), 'utf8') : gunzipSync(readFileSync(join(at, `${f}.gz`))).toString('utf8'));
    out.set(t.key, {
      key: t.key,
      context: JSON.parse(read(RECORDED_FILES.context)) as RecordedContext,
      configDump: JSON.parse(read(RECORDED_FILES.configDump)) as RecordedTemplate['configDump'],
      stats: read(RECORDED_FILES.stats),
      statsJson: JSON.parse(read(RECORDED_FILES.statsJson)) as RecordedTemplate['statsJson'],
      certs: JSON.parse(read(RECORDED_FILES.certs)) as RecordedTemplate['certs'],
      clusters: JSON.parse(read(RECORDED_FILES.clusters)) as Record<string, unknown>,
      clustersText: read(RECORDED_FILES.clustersText),
      serverInfo: JSON.parse(read(RECORDED_FILES.serverInfo)) as Record<string, unknown>,
      queries: existsSync(join(at, `${RECORDED_FILES.queries}.gz`)) ? JSON.parse(read(RECORDED_FILES.queries)) as Record<string, RecordedAnswer> : {},
    });
  }
  cache.set(dir, out);
  return out;
}
