import type { DownstreamTls, FilterChainTls, InboundMode, InboundPortMode, ListenerTls, SecretInfo } from './types.js';
import type { DumpListener } from './config-dump.js';
import { asArray, asNumber, asRecord, asString, type JsonRecord } from './json-access.js';
import { readTlsContext, tlsContextOf } from './tls-context.js';

/** Downstream TLS of every listener, in dump order (static first). */
export function inspectListeners(listeners: DumpListener[]): ListenerTls[] {
  return listeners.map((l) => {
    const sock = asRecord(asRecord(l.listener.address)?.socket_address);
    const chains = asArray(l.listener.filter_chains).map((fc) => filterChainTls(asRecord(fc) ?? {}));
    const defaultChain = asRecord(l.listener.default_filter_chain);
    if (defaultChain) chains.push(filterChainTls(defaultChain));
    const secrets: string[] = [];
    const addSecret = (s: string) => {
      if (!secrets.includes(s)) secrets.push(s);
    };
    for (const fc of chains) {
      for (const s of fc.certificateSecrets) addSecret(s);
      if (fc.validationSecret) addSecret(fc.validationSecret);
      if (fc.validationFile) addSecret(fc.validationFile);
    }
    const port = asNumber(sock?.port_value);
    const out: ListenerTls = {
      name: l.name,
      address: asString(sock?.address),
      port,
      state: l.state,
      downstreamTls: summarize(chains, port),
      secrets,
      filterChains: chains,
      static: l.static,
    };
    if (l.state === 'error') out.error = l.error;
    return out;
  });
}

function filterChainTls(fc: JsonRecord): FilterChainTls {
  const match = asRecord(fc.filter_chain_match) ?? {};
  const transportProtocol = asString(match.transport_protocol) || null;
  const serverNames = strings(match.server_names);
  const ctxRecord = tlsContextOf(fc.transport_socket, 'Downstream') ?? asRecord(fc.tls_context);
  const ctx = ctxRecord ? readTlsContext(ctxRecord) : null;
  let tls: FilterChainTls['tls'];
  if (ctx) tls = ctx.requireClientCertificate ? 'mtls' : 'tls';
  // Matching TLS (by transport or SNI) without a TLS context forwards the bytes still encrypted.
  else if (transportProtocol === 'tls' || serverNames.length > 0) tls = 'passthrough';
  else tls = 'none';
  const out: FilterChainTls = {
    name: asString(fc.name),
    destinationPort: asNumber(asRecord(match.destination_port)?.value ?? match.destination_port),
    transportProtocol,
    serverNames,
    applicationProtocols: strings(match.application_protocols),
    tls,
    requireClientCertificate: ctx?.requireClientCertificate ?? false,
    certificateSecrets: ctx?.certificateSecrets ?? [],
    validationSecret: ctx?.validationSecret ?? null,
  };
  if (ctx && ctx.sanMatchers.length > 0) out.peerSanMatchers = ctx.sanMatchers;
  if (ctx?.validationFile) out.validationFile = ctx.validationFile;
  return out;
}

/** Istio's chain that drops connections addressed to the capture port itself (15006/15001). */
function isBlackhole(fc: FilterChainTls, listenerPort: number | null): boolean {
  return (fc.name?.endsWith('-blackhole') ?? false) || (fc.destinationPort !== null && fc.destinationPort === listenerPort);
}

/** The string entries of a JSON list (a new array). */
function strings(v: unknown): string[] {
  const out: string[] = [];
  if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') out.push(x);
  return out;
}

/**
 * none: nothing terminates TLS (plaintext or passthrough only); tls/mtls: every chain does;
 * else mixed. Blackhole chains are left out.
 */
function summarize(chains: FilterChainTls[], port: number | null): DownstreamTls {
  let kind: DownstreamTls | null = null;
  for (const c of chains) {
    if (isBlackhole(c, port)) continue;
    const k = c.tls === 'passthrough' ? 'none' : c.tls;
    if (kind === null) kind = k;
    else if (kind !== k) return 'mixed';
  }
  return kind ?? 'none';
}

const VIRTUAL_INBOUND = 'virtualInbound';

/**
 * A sidecar's inbound mode per port, from its virtualInbound listener(s): STRICT when a port only
 * has mTLS chains, PERMISSIVE when it has mTLS and non-mTLS (plaintext, passthrough or one-way
 * TLS) chains, PLAINTEXT when it has no mTLS chain. Catch-all chains (no destination port) are
 * port 0. The blackhole chain for the listener's own port is skipped. Not in effect unless the
 * listener is active.
 */
export function inboundModes(listeners: ListenerTls[]): InboundPortMode[] {
  const out: InboundPortMode[] = [];
  for (const l of listeners) {
    if (l.name !== VIRTUAL_INBOUND) continue;
    const byPort = new Map<number, FilterChainTls[]>();
    for (const fc of l.filterChains) {
      if (isBlackhole(fc, l.port)) continue;
      const port = fc.destinationPort ?? 0;
      const list = byPort.get(port) ?? [];
      list.push(fc);
      byPort.set(port, list);
    }
    for (const [port, chains] of byPort) {
      const entry: InboundPortMode = { port, mode: modeOf(chains), inEffect: l.state === 'active', listener: l.name };
      if (port === 0) entry.catchAll = true;
      out.push(entry);
    }
  }
  return out.sort((a, b) => a.port - b.port || Number(b.inEffect) - Number(a.inEffect));
}

function modeOf(chains: FilterChainTls[]): InboundMode {
  const mtls = chains.some((c) => c.tls === 'mtls');
  const other = chains.some((c) => c.tls !== 'mtls');
  if (mtls && !other) return 'STRICT';
  if (mtls) return 'PERMISSIVE';
  return 'PLAINTEXT';
}

/**
 * Mark listeners that cannot complete a TLS handshake because every certificate of a
 * terminating chain is an SDS secret still warming (listed in dynamic_warming_secrets without
 * an active copy): Envoy has no certificate to present on that chain.
 */
export function markCertificateWarming(listeners: ListenerTls[], secrets: SecretInfo[]): void {
  const active = new Set(secrets.filter((s) => s.state === 'active').map((s) => s.name));
  const warming = new Set(secrets.filter((s) => s.state === 'warming' && !active.has(s.name)).map((s) => s.name));
  if (warming.size === 0) return;
  for (const l of listeners) {
    const terminating = l.filterChains.filter((c) => (c.tls === 'tls' || c.tls === 'mtls') && c.certificateSecrets.length > 0);
    const blocked = terminating.filter((c) => c.certificateSecrets.every((name) => warming.has(name)));
    if (blocked.length === 0) continue;
    const names = [...new Set(blocked.flatMap((c) => c.certificateSecrets))].join(', ');
    const hosts = [...new Set(blocked.flatMap((c) => c.serverNames))];
    const scope = blocked.length === terminating.length ? '' : ` for ${hosts.length > 0 ? hosts.join(', ') : `${blocked.length} of ${terminating.length} TLS chains`}`;
    l.certificateWarming = `cannot complete a TLS handshake${scope}: its only certificate ${names} is still warming (SDS has not delivered it)`;
  }
}
