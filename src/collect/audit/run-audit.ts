import type { KubeClients } from '../../cluster/kube-client.js';
import { auditExitCode, countFindings, noProxyReadFinding, sortFindings } from '../../analyze/audit/audit-report.js';
import { createAuditJudge } from '../../analyze/audit/judge.js';
import type { AuditOptions, AuditReport, PodFacts } from '../../analyze/audit/types.js';
import type { Finding } from '../../analyze/types.js';
import { mapLimit } from '../../util/map-limit.js';
import type { CertificateInfo } from '../../envoy/types.js';
import { BoundedMap } from '../../util/bounded-map.js';
import { readInventory } from './inventory.js';
import { readProxy, type AuditTransport } from './proxy-reader.js';

export interface RunAuditOptions {
  namespaces: string[] | null;
  minCertDays: number;
  targetVersion: string | null;
  concurrency: number;
  /** Per proxy attempt, and per API request. */
  timeoutMs: number;
  retries?: number;
  rootNamespace?: string;
  /** Allow the `pods/exec` fallback when port-forward is refused (default true). */
  allowExec?: boolean;
  now?: Date;
  simulated?: boolean;
  /** Called after each proxy with counts so far (for the progress bar). */
  onProgress?: (p: { done: number; total: number; unreadable: number; findings: number }) => void;
  /** Replace how a proxy's admin port is reached (tests). Default: src/cluster/admin-transport. */
  openTransport?: (pod: PodFacts) => Promise<AuditTransport>;
}

/** Decoded certificates kept for reuse (a few KB each): bounded whatever the fleet size. */
const CERTIFICATE_CACHE_ENTRIES = 2048;

/**
 * The whole audit: read the inventory, read every proxy with bounded concurrency (judging each
 * as it arrives and dropping its data), then judge control plane and policy. Read-only.
 */
export async function runAudit(clients: KubeClients, opts: RunAuditOptions): Promise<AuditReport> {
  const started = Date.now();
  const now = opts.now ?? new Date();
  const rootNamespace = opts.rootNamespace ?? 'istio-system';
  const options: AuditOptions = { minCertDays: opts.minCertDays, targetVersion: opts.targetVersion, now, rootNamespace };
  const inv = await readInventory(clients, { namespaces: opts.namespaces, rootNamespace, timeoutMs: opts.timeoutMs });
  const judge = createAuditJudge(inv.controlPlane, inv.policy, options);
  const open = opts.openTransport ?? await defaultTransport(clients, opts);
  const findings: Finding[] = [];
  let done = 0;
  let unreadable = 0;
  // Replicas share their workload chain and every proxy the roots: decode each block once.
  const certificateCache = new BoundedMap<string, CertificateInfo>(CERTIFICATE_CACHE_ENTRIES);
  await mapLimit(inv.proxies, Math.max(1, opts.concurrency), async (pod) => {
    const reading = await readProxy(pod, open, { timeoutMs: opts.timeoutMs, retries: opts.retries ?? 1, now, certificateCache });
    if (!reading.ok) unreadable += 1;
    findings.push(...judge.judgeProxy(reading));
    done += 1;
    opts.onProgress?.({ done, total: inv.proxies.length, unreadable, findings: findings.length });
  });
  findings.push(...judge.finish());
  const read = inv.proxies.length - unreadable;
  if (read === 0) findings.push(noProxyReadFinding(opts.namespaces ?? 'all', inv.proxies.length));
  const sorted = sortFindings(findings);
  const counts = countFindings(sorted);
  return {
    schemaVersion: 1,
    kind: 'mesh-verify/audit',
    target: {
      context: clients.context || null, server: clients.server || null, simulated: opts.simulated ?? false,
      namespaces: opts.namespaces ?? 'all', namespacesAudited: inv.namespaces,
    },
    options: { minCertDays: opts.minCertDays, targetVersion: opts.targetVersion },
    controlPlane: {
      revisions: inv.controlPlane.istiods.map((i) => ({ revision: i.revision, version: i.version, name: `${i.namespace}/${i.name}` })),
      roots: inv.controlPlane.rootPems.length,
    },
    proxies: { total: inv.proxies.length, read, unreadable },
    pods: inv.policy.pods.length,
    findings: sorted,
    counts,
    exitCode: auditExitCode(counts, unreadable, read),
    generatedAt: new Date().toISOString(),
    durationMs: Date.now() - started,
  };
}

async function defaultTransport(clients: KubeClients, opts: RunAuditOptions): Promise<(pod: PodFacts) => Promise<AuditTransport>> {
  const { openAdminTransport } = await import('../../cluster/admin-transport.js');
  return (pod) => openAdminTransport(clients, pod, { allowExec: opts.allowExec ?? true, timeoutMs: opts.timeoutMs });
}
