import { inspectConfigDump } from '../../envoy/config-dump.js';
import type { CertificateInfo, ProxyPosture } from '../../envoy/types.js';
import { asRecord } from '../../envoy/json-access.js';
import { describeNode } from '../../envoy/node-info.js';
import { isGatewayProxy } from '../../analyze/audit/proxy-rules.js';
import type { PodFacts, ProxyReading } from '../../analyze/audit/types.js';
import { withTimeout } from '../concurrency.js';
import { ResponseTooLargeError } from '../../cluster/bounded-http.js';

/** Node (version) and SDS secrets: a few KB, without any listener or cluster. */
// Envoy keeps only the dumps whose type has every masked field (and answers 400 when none has),
// so node (BootstrapConfigDump) and secrets (SecretsConfigDump) are two requests.
export const AUDIT_NODE_PATH = '/config_dump?mask=bootstrap.node';
export const AUDIT_SECRETS_PATH = '/config_dump?mask=dynamic_active_secrets,dynamic_warming_secrets';
/** Listener updates Envoy rejected so far: only when non-zero are rejected listeners looked up. */
export const AUDIT_REJECTED_STAT = 'listener_manager.lds.update_rejected';
export const AUDIT_REJECTED_STAT_PATH = `/stats?filter=${encodeURIComponent(`^${AUDIT_REJECTED_STAT.replace(/\./g, '\\.')}$`)}`;
/** A sidecar's inbound listener only (its outbound listeners, most of a dump, are not read). */
export const AUDIT_INBOUND_LISTENER_PATH = `/config_dump?resource=dynamic_listeners&name_regex=${encodeURIComponent('virtualInbound')}`;
/** A gateway's listeners (few; their filter chains name the credentials and hosts). */
export const AUDIT_ALL_LISTENERS_PATH = '/config_dump?resource=dynamic_listeners';
/** Names and error states only, of every listener. */
export const AUDIT_LISTENER_ERRORS_PATH = `/config_dump?resource=dynamic_listeners&mask=${encodeURIComponent('name,error_state')}`;

const LISTENERS_DUMP_TYPE = 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump';

/** The minimal transport the reader needs (src/cluster/admin-transport.ts provides it). */
export interface AuditTransport {
  get(path: string, opts?: { timeoutMs?: number }): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export interface ReadProxyOptions {
  /** Bound for one attempt (open + GET + parse). */
  timeoutMs: number;
  /** Extra attempts after a failure (default 1). */
  retries: number;
  now: Date;
  /** Pause before a retry (default 200 ms). */
  retryDelayMs?: number;
  /** Decoded certificates by PEM block, shared by every proxy of the audit (keep it bounded). */
  certificateCache?: Map<string, CertificateInfo>;
}

/**
 * Read one proxy's posture: open a transport, GET the masked config dump, parse, close. The raw
 * dump is dropped as soon as it is parsed; only the posture (without clusters) is returned.
 * Failures are retried, then reported as an unreadable proxy (never thrown).
 */
export async function readProxy(pod: PodFacts, open: (pod: PodFacts) => Promise<AuditTransport>, opts: ReadProxyOptions): Promise<ProxyReading> {
  let lastError = '';
  const attempts = 1 + Math.max(0, opts.retries);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const posture = await withTimeout(fetchPosture(pod, open, opts), opts.timeoutMs, `reading ${pod.namespace}/${pod.name}`);
      return { pod, ok: true, posture };
    } catch (err) {
      // An answer over its size limit ends the audit (exit 4, naming the endpoint and the limit).
      if (err instanceof ResponseTooLargeError) throw err;
      lastError = (err as Error).message.split('\n')[0];
      if (attempt < attempts) await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 200));
    }
  }
  return { pod, ok: false, error: lastError, attempts };
}

type Get = (path: string) => Promise<string>;

/**
 * What the audit reads of one proxy, over one keep-alive connection: the rejection counter,
 * node and secrets, the inbound listener (sidecars) or all listeners (gateways), and the
 * listeners' error states only when Envoy rejected an update. Assembled as one config dump.
 */
export async function fetchAuditDump(get: Get, podGateway: boolean): Promise<{ configs: unknown[] }> {
  const stats = await get(AUDIT_REJECTED_STAT_PATH).catch((e: unknown) => { if (e instanceof ResponseTooLargeError) throw e; return null; });
  const m = stats === null ? null : new RegExp(`^${AUDIT_REJECTED_STAT.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(stats);
  // Unknown counter (old Envoy, stats refused): read the error states to be sure.
  const rejected = m ? Number(m[1]) > 0 : true;
  const node = parseJson(await get(AUDIT_NODE_PATH), 'config_dump?mask=bootstrap.node') as { configs?: unknown[] };
  const secrets = parseJson(await get(AUDIT_SECRETS_PATH), 'config_dump?mask=dynamic_*_secrets') as { configs?: unknown[] };
  const base = { configs: [...(node.configs ?? []), ...(secrets.configs ?? [])] };
  // The proxy's own role (node id `router~...` or `sidecar~...`) decides which listeners to read;
  // the pod spec's guess only when the node says neither.
  const bootstrap = (node.configs ?? []).map((c) => (c as { bootstrap?: unknown }).bootstrap).find(Boolean) ?? null;
  const gateway = isGatewayProxy({ gateway: podGateway }, { proxy: describeNode(asRecord(bootstrap)) });
  const listeners = itemsOf(parseJson(await get(gateway ? AUDIT_ALL_LISTENERS_PATH : AUDIT_INBOUND_LISTENER_PATH), 'config_dump?resource=dynamic_listeners'));
  // A gateway's full listener list already carries their error states.
  if (rejected && !gateway) listeners.push(...itemsOf(parseJson(await get(AUDIT_LISTENER_ERRORS_PATH), 'config_dump?resource=dynamic_listeners')).filter((l) => l.error_state));
  const configs = (base.configs ?? []).filter((c) => (c as { '@type'?: string })['@type'] !== LISTENERS_DUMP_TYPE);
  return { configs: [...configs, { '@type': LISTENERS_DUMP_TYPE, dynamic_listeners: listeners }] };
}

function parseJson(body: string, what: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new Error(`GET /${what} did not return JSON (${body.length} bytes)`);
  }
}

/** The items of a `?resource=` answer, without their item @type. */
function itemsOf(json: unknown): Record<string, unknown>[] {
  const configs = (json as { configs?: unknown[] } | null)?.configs ?? [];
  return configs.map((c) => {
    const { '@type': _t, ...rest } = c as Record<string, unknown>;
    return rest;
  });
}

async function fetchPosture(pod: PodFacts, open: (pod: PodFacts) => Promise<AuditTransport>, opts: ReadProxyOptions): Promise<ProxyPosture> {
  const transport = await open(pod);
  try {
    const get: Get = async (path) => {
      const res = await transport.get(path, { timeoutMs: opts.timeoutMs });
      if (res.status !== 200) throw new Error(`GET ${path.split('?')[0]} answered HTTP ${res.status}: ${res.body.slice(0, 120).trim()}`);
      return res.body;
    };
    const posture = inspectConfigDump(await fetchAuditDump(get, pod.gateway), { now: opts.now, certificateCache: opts.certificateCache });
    // No clusters are read; keep the posture small whatever the proxy sent.
    return { ...posture, clusters: [] };
  } finally {
    await transport.close().catch(() => {});
  }
}
