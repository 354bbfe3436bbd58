import { inspectConfigDump } from '../../envoy/config-dump.js';
import type { ProxyPosture } from '../../envoy/types.js';
import type { PodFacts, ProxyReading } from '../../analyze/audit/types.js';
import { withTimeout } from '../concurrency.js';

/** The one admin request the audit makes per proxy: node, listeners and secrets, nothing else. */
export const AUDIT_CONFIG_DUMP_PATH =
  '/config_dump?mask=bootstrap.node,dynamic_listeners,dynamic_active_secrets,dynamic_warming_secrets';

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
      lastError = (err as Error).message.split('\n')[0];
      if (attempt < attempts) await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 200));
    }
  }
  return { pod, ok: false, error: lastError, attempts };
}

async function fetchPosture(pod: PodFacts, open: (pod: PodFacts) => Promise<AuditTransport>, opts: ReadProxyOptions): Promise<ProxyPosture> {
  const transport = await open(pod);
  try {
    const res = await transport.get(AUDIT_CONFIG_DUMP_PATH, { timeoutMs: opts.timeoutMs });
    if (res.status !== 200) throw new Error(`GET /config_dump answered HTTP ${res.status}: ${res.body.slice(0, 120).trim()}`);
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      throw new Error(`GET /config_dump did not return JSON (${res.body.length} bytes)`);
    }
    const posture = inspectConfigDump(json, { now: opts.now });
    // Clusters are not part of the masked dump; keep the posture small whatever the proxy sent.
    return { ...posture, clusters: [] };
  } finally {
    await transport.close().catch(() => {});
  }
}
