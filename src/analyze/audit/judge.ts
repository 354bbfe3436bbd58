import { decodeCertificates } from '../../envoy/certificate.js';
import type { CertificateInfo } from '../../envoy/types.js';
import type { Finding } from '../types.js';
import { createChainTrust } from './chain-trust.js';
import { controlPlaneFindings, intermediateFindings } from './control-plane-rules.js';
import { auditFinding, podRef, proxyEvidence } from './finding.js';
import { policyFindings } from './policy-rules.js';
import { proxyFindings, type ProxyRuleContext } from './proxy-rules.js';
import type { AuditOptions, ControlPlaneFacts, MeshPolicy, ProxyReading } from './types.js';

export interface AuditJudge {
  /** Judge one proxy as soon as it is read; its posture can be dropped afterwards. */
  judgeProxy(reading: ProxyReading): Finding[];
  /** Control-plane, policy and intermediate findings, once every proxy was judged. */
  finish(): Finding[];
}

/**
 * The audit's rules over streamed proxies: pure (no I/O), memory bounded by the number of
 * distinct intermediates, not by the number of proxies.
 */
export function createAuditJudge(cp: ControlPlaneFacts, policy: MeshPolicy, options: AuditOptions): AuditJudge {
  const rootCerts: CertificateInfo[] = cp.rootPems.flatMap((pem) => decodeCertificates(pem));
  const ctx: ProxyRuleContext = {
    options,
    istiods: cp.istiods,
    rootPems: cp.rootPems,
    rootFingerprints: new Set(rootCerts.map((c) => c.fingerprint256)),
    peerAuthentications: policy.peerAuthentications,
    chainTrust: new Map(),
    chainsToRoot: createChainTrust(cp.rootPems),
  };
  const intermediates = new Map<string, { cert: CertificateInfo; seenOn: string }>();
  return {
    judgeProxy(reading) {
      if (!reading.ok) return [unreadableFinding(reading)];
      const r = proxyFindings(reading.pod, reading.posture, ctx);
      for (const c of r.intermediates) {
        if (!intermediates.has(c.fingerprint256)) intermediates.set(c.fingerprint256, { cert: c, seenOn: `pod ${podRef(reading.pod)}` });
      }
      return r.findings;
    },
    finish() {
      return [
        ...controlPlaneFindings(cp, rootCerts, options),
        ...intermediateFindings([...intermediates.values()], options),
        ...policyFindings(policy),
      ];
    },
  };
}

function unreadableFinding(r: Extract<ProxyReading, { ok: false }>): Finding {
  return auditFinding('proxy-unreadable', `pod ${podRef(r.pod)}`,
    `admin endpoint not readable after ${r.attempts} attempt(s): ${r.error}${r.pod.problem ? ` (${r.pod.problem})` : ''}; its posture is unknown`,
    r.pod.problem ? 'fix the pod (kubectl describe pod) and run the audit again'
      : 'check that the pod is running and that you may create pods/portforward (kubectl port-forward POD 15000)',
    [proxyEvidence(podRef(r.pod), 'admin :15000', 'config_dump', r.error)]);
}
