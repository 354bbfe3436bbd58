import type { Finding } from '../types.js';
import { auditFinding, kubeEvidence } from './finding.js';
import type { AuditCounts, AuditReport } from './types.js';

const ORDER = { error: 0, warning: 1, info: 2 } as const;

/** Findings in a stable order: severity, code, object. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]
    || a.code.localeCompare(b.code) || a.object.localeCompare(b.object, 'en', { numeric: true }));
}

export function countFindings(findings: Finding[]): AuditCounts {
  const c: AuditCounts = { error: 0, warning: 0, info: 0 };
  for (const f of findings) c[f.severity] += 1;
  return c;
}

/**
 * 1 when any error-level finding exists (a definite problem wins over a partial read); else 3
 * when some proxies could not be read, or none was read at all (nothing was verified); else 0.
 */
export function auditExitCode(counts: AuditCounts, unreadable: number, read: number): AuditReport['exitCode'] {
  if (counts.error > 0) return 1;
  if (unreadable > 0 || read === 0) return 3;
  return 0;
}

/** The finding that says why an audit that read no proxy proves nothing (exit 3). */
export function noProxyReadFinding(namespaces: string[] | 'all', total: number): Finding {
  const where = namespaces === 'all' ? 'the cluster' : `namespace${namespaces.length > 1 ? 's' : ''} ${namespaces.join(', ')}`;
  return auditFinding('no-proxy-read', namespaces === 'all' ? 'cluster' : `namespace ${namespaces.join(',')}`,
    total === 0 ? `no pod with an istio-proxy (sidecar or gateway) runs in ${where}: no proxy was audited`
      : `none of the ${total} proxies in ${where} could be read: no proxy was audited`,
    total === 0 ? 'audit the namespaces that run the mesh (-n NS,... or -A), or check that sidecar injection is on'
      : 'check that you may create pods/portforward and that the pods run (see the proxy-unreadable findings)',
    [kubeEvidence(`pods with istio-proxy in ${where}`, `${total} found, 0 read`, 'at least one read')]);
}
