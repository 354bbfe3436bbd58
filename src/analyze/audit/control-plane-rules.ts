import type { CertificateInfo } from '../../envoy/types.js';
import type { Finding } from '../types.js';
import { auditFinding, daysLeft, kubeEvidence } from './finding.js';
import type { AuditOptions, ControlPlaneFacts } from './types.js';

/** istiod deployments, their revisions and versions; the mesh roots' expiry. */
export function controlPlaneFindings(cp: ControlPlaneFacts, rootCerts: CertificateInfo[], opts: AuditOptions): Finding[] {
  const out: Finding[] = [];
  if (cp.istiods.length === 0) {
    out.push(auditFinding('control-plane-missing', `namespace ${opts.rootNamespace}`,
      `no istiod deployment (label app=istiod) found in ${opts.rootNamespace}`,
      'install Istio or point --context at the cluster that runs the mesh',
      [kubeEvidence(`deployments -l app=istiod -n ${opts.rootNamespace}`, 'none', 'at least one')]));
  } else {
    const versions = new Set(cp.istiods.map((i) => i.version ?? '?'));
    if (cp.istiods.length > 1 || versions.size > 1) {
      out.push(auditFinding('control-plane-revisions', `namespace ${opts.rootNamespace}`,
        `${cp.istiods.length} istiod revisions run: ${cp.istiods.map((i) => `${i.revision}=${i.version ?? '?'}`).join(', ')}`,
        null, cp.istiods.map((i) => ({ ...kubeEvidence(`deployment ${i.namespace}/${i.name}`, `revision ${i.revision}, image ${i.image ?? '?'}`), effect: 'neutral' as const }))));
    }
  }
  if (cp.rootPems.length === 0 || rootCerts.length === 0) {
    out.push(auditFinding('root-cert-missing', cp.rootSource,
      `the mesh root certificate could not be read from ${cp.rootSource}; trust of workload certificates is not checked`,
      'check that istiod is running and that the audit may read the istio-ca-root-cert ConfigMap',
      [kubeEvidence(cp.rootSource, 'no PEM certificate', 'root-cert.pem')]));
  }
  for (const root of rootCerts) out.push(...caExpiry('root', root, cp.rootSource, opts));
  return out;
}

/** Intermediates seen in workload chains (deduplicated by the caller). */
export function intermediateFindings(intermediates: { cert: CertificateInfo; seenOn: string }[], opts: AuditOptions): Finding[] {
  return intermediates.flatMap(({ cert, seenOn }) => caExpiry('intermediate', cert, `workload chain of ${seenOn}`, opts));
}

function caExpiry(kind: 'root' | 'intermediate', cert: CertificateInfo, source: string, opts: AuditOptions): Finding[] {
  const days = daysLeft(cert.notAfter, opts.now);
  const object = `${kind} ${cert.subject} (serial ${cert.serial})`;
  const ev = [kubeEvidence(source, `notAfter ${cert.notAfter} (${days} days left)`, `more than ${opts.minCertDays} days left`)];
  if (days < 0 || Date.parse(cert.notAfter) <= opts.now.getTime()) {
    return [auditFinding(`${kind}-cert-expired`, object, `the mesh ${kind} certificate expired on ${cert.notAfter}`,
      kind === 'root' ? 'rotate the mesh root now (plug in a new cacerts and restart istiod and the workloads)'
        : 'issue a new intermediate (cacerts) and restart istiod', ev)];
  }
  if (days < opts.minCertDays) {
    return [auditFinding(`${kind}-cert-expiring`, object, `the mesh ${kind} certificate expires in ${days} days (${cert.notAfter})`,
      kind === 'root' ? 'plan a root rotation now: add the new root to the trust bundle, then switch istiod to it'
        : 'renew the intermediate in cacerts and restart istiod before it expires', ev)];
  }
  return [];
}
