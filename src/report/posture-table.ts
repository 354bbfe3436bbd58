import type { ClusterTls, ListenerTls, SecretInfo } from '../envoy/types.js';
import type { InspectResult } from '../inspect/types.js';
import { formatColumns, type Cell } from './posture-columns.js';

/** Lists longer than this are cut to their notable rows plus a count line. */
export const MAX_ROWS = 25;

/** The `mesh-verify inspect` table: proxy, inbound modes, listeners, clusters, secrets (+ certs, stats). */
export function renderPostureTable(r: InspectResult): string {
  const out: string[] = [];
  const section = (title: string, body: string) => out.push(`${title}\n${body}`);

  if (r.warnings?.length) section('WARNINGS', r.warnings.map((w) => `warning: ${w}`).join('\n'));
  let proxy = formatColumns(['type', 'id', 'istio', 'envoy', 'namespace', 'pod'], [[
    proxyType(r.proxy.type), r.proxy.id, r.proxy.istioVersion, r.proxy.envoyVersion, r.proxy.namespace, r.proxy.podName,
  ]]);
  if (r.layout?.length) proxy += `\nread as: ${r.layout.join('; ')}`;
  section('PROXY', proxy);

  if (r.inbound.length > 0) {
    section('INBOUND (virtualInbound, per port; port 0 = catch-all)', formatColumns(['port', 'mode', 'in effect', 'listener'],
      r.inbound.map((i) => [i.catchAll ? '0 (catch-all)' : i.port, i.mode, i.inEffect, i.listener])));
  } else {
    out.push(`INBOUND\n${r.proxy.type === 'router' ? 'none (a gateway has no virtualInbound listener)'
      : r.proxy.type === 'waypoint' ? 'none (a waypoint has no virtualInbound listener)' : 'none (no virtualInbound listener in this dump)'}`);
  }

  section('LISTENERS', listenersTable(r.listeners));
  const data = r.clusters.filter((c) => !c.controlPlane).sort(byName);
  const control = r.clusters.filter((c) => c.controlPlane).sort(byName);
  section(`CLUSTERS (data plane: ${data.length})`, clustersTable(data));
  if (control.length > 0) section(`CONTROL-PLANE CLUSTERS (${control.length}; never data-plane evidence)`, formatColumns(
    ['name', 'upstream tls', 'client cert', 'verifies server', 'sans'],
    control.map((c) => [c.name, c.upstreamTls, c.presentsClientCertificate, c.verifiesServer, c.sans.join(',')]),
  ));
  section('SECRETS', r.secrets.length === 0 ? 'none in this dump' : secretsTable(r.secrets));
  if (r.certificates) {
    section('CERTIFICATES (/certs)', r.certificates.entries.length === 0 ? 'none: Envoy holds no certificate (no identity)' : formatColumns(
      ['role', 'serial', 'identity', 'days left', 'expires', 'secret'],
      r.certificates.entries.map((e) => [e.role, e.serialNumber, e.uriSans.join(','), daysLeft(e.daysUntilExpiration, e.expired), e.expirationTime, e.secret]),
    ));
  }
  if (r.stats) {
    const s = r.stats;
    const rows: Cell[][] = [
      ...s.listeners.map((l) => ['listener', l.name, l.handshakes, l.connectionErrors, null]),
      ...s.clusters.map((c) => [c.controlPlane ? 'cluster (control plane)' : 'cluster', c.name, c.handshakes, c.connectionErrors, c.verifyFailures]),
    ];
    const body = [`${s.statCount} stats; data-plane ssl stats: ${s.dataPlaneSslStats ? 'yes' : 'no'}`];
    if (rows.length > 0) body.push(formatColumns(['where', 'name', 'handshakes', 'ssl errors', 'verify failures'], rows));
    for (const n of s.notes) body.push(`note: ${n}`);
    section('TLS COUNTERS (/stats)', body.join('\n'));
  }
  return `${out.join('\n\n')}\n`;
}

/** Istio's own ports (istio.io "Ports used by Istio"): not application listeners. */
export const ISTIO_PORTS: ReadonlyMap<number, string> = new Map([
  [15020, 'Istio: merged metrics, pilot-agent'],
  [15021, 'Istio: health checks'],
  [15090, 'Istio: Envoy Prometheus telemetry'],
]);

function proxyType(type: InspectResult['proxy']['type']): string | null {
  return type === 'waypoint' ? 'waypoint (ambient L7 proxy)' : type;
}

function daysLeft(days: number | null, expired: boolean | null): string | null {
  if (days === null) return null;
  return expired ? `expired${days < 0 ? ` ${-days} days ago` : ''}` : String(days);
}

function secretsTable(secrets: SecretInfo[]): string {
  const rows: Cell[][] = [];
  for (const s of secrets) {
    const identity = s.uriSans.join(',') || s.chain[0]?.dnsSans.join(',') || (s.trustDomains ? `trust domains ${s.trustDomains.map((t) => t.name).join(',')}` : null);
    rows.push([s.name, s.state, s.kind, identity, s.notAfter, s.expired, s.chain.length, s.file]);
    // A SPIFFE validator bundle: one row per trust domain, with its own roots and expiry.
    for (const td of s.trustDomains ?? []) rows.push([`  ${td.name}`, null, 'trust domain', null, td.notAfter, td.expired, td.roots.length, td.file]);
  }
  const withFile = rows.some((r) => r[7]);
  return formatColumns(['name', 'state', 'kind', 'identity', 'not after', 'expired', 'chain', ...(withFile ? ['file'] : [])], withFile ? rows : rows.map((r) => r.slice(0, 7)));
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const STATE_ORDER = { active: 0, warming: 1, draining: 2, error: 3 } as const;

function listenersTable(listeners: ListenerTls[]): string {
  if (listeners.length === 0) return 'none in this dump';
  const sorted = [...listeners].sort((a, b) => (a.port ?? -1) - (b.port ?? -1) || byName(a, b) || STATE_ORDER[a.state] - STATE_ORDER[b.state]);
  // A sidecar has one plaintext outbound listener per service port: show the notable ones.
  const notable = (l: ListenerTls) => l.downstreamTls !== 'none' || l.state !== 'active' || l.static || l.name === 'virtualInbound' || l.name === 'virtualOutbound' || l.filterChains.some((c) => c.tls === 'passthrough');
  const shown = sorted.length > MAX_ROWS ? sorted.filter(notable) : sorted;
  const rows = shown.map((l) => [
    l.name, l.port, l.state, l.downstreamTls, chainSummary(l), l.secrets.join(','), sniHosts(l), l.port !== null ? ISTIO_PORTS.get(l.port) : null,
  ]);
  let text = formatColumns(['name', 'port', 'state', 'downstream tls', 'chains', 'secrets', 'sni hosts', 'role'], rows);
  const hidden = sorted.length - shown.length;
  if (hidden > 0) text += `\n... ${hidden} more active plaintext listeners (outbound capture ports); -o json lists every listener`;
  for (const l of shown) if (l.state === 'error' && l.error) text += `\n${l.name} error: ${l.error.split('\n')[0]}`;
  for (const l of shown) if (l.certificateWarming) text += `\n${l.name}: ${l.certificateWarming}`;
  return text;
}

/** Names shown per listener in the SNI column; -o json lists them all. */
const MAX_SNI = 3;

/** The SNI names the listener's chains match (gateway hosts), as configured (`*.` wildcards too). */
function sniHosts(l: ListenerTls): string {
  const hosts = [...new Set(l.filterChains.flatMap((c) => c.serverNames))];
  return hosts.length > MAX_SNI ? `${hosts.slice(0, MAX_SNI).join(',')} (+${hosts.length - MAX_SNI} more)` : hosts.join(',');
}

function chainSummary(l: ListenerTls): string {
  const counts = new Map<string, number>();
  for (const c of l.filterChains) counts.set(c.tls, (counts.get(c.tls) ?? 0) + 1);
  return ['mtls', 'tls', 'passthrough', 'none'].filter((k) => counts.has(k)).map((k) => `${counts.get(k)} ${k}`).join(', ');
}

function clustersTable(clusters: ClusterTls[]): string {
  if (clusters.length === 0) return 'none in this dump';
  const explicit = (c: ClusterTls) => c.upstreamTls === 'tls' || c.upstreamTls === 'mtls';
  const shown = clusters.length > MAX_ROWS ? clusters.filter(explicit) : clusters;
  const rows = shown.map((c) => [
    c.name, c.state === 'warming' ? `${c.upstreamTls} (warming)` : c.upstreamTls, c.presentsClientCertificate, c.verifiesServer,
    c.sans.join(',') || (c.trustDomains ?? []).map((t) => `trust domain ${t}`).join(','), endpointSummary(c),
  ]);
  const lines: string[] = [];
  if (rows.length > 0) lines.push(formatColumns(['name', 'upstream tls', 'client cert', 'verifies server', 'sans', 'endpoints (istio/all)'], rows));
  const hidden = clusters.filter((c) => !shown.includes(c));
  if (hidden.length > 0) {
    const byKind = new Map<string, number>();
    for (const c of hidden) {
      const key = c.upstreamTls !== 'auto-mtls' || !c.endpoints ? c.upstreamTls
        : c.endpointTls ? `auto-mtls with ${c.endpointTls} endpoints` : 'auto-mtls without endpoints';
      byKind.set(key, (byKind.get(key) ?? 0) + 1);
    }
    const parts = [...byKind.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k, n]) => `${n} ${k}`);
    lines.push(`${rows.length > 0 ? '... ' : ''}${hidden.length} ${rows.length > 0 ? 'more ' : ''}clusters: ${parts.join(', ')}; -o json lists every cluster`);
  }
  return lines.join('\n');
}

function endpointSummary(c: ClusterTls): string | null {
  if (!c.endpoints) return null;
  return `${c.endpoints.filter((e) => e.tlsMode === 'istio').length}/${c.endpoints.length}`;
}
