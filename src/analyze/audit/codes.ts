import type { Severity } from '../types.js';

/**
 * Every finding code the audit emits, with its severity. Codes are stable (machine-readable
 * output, JUnit case names, the scale fleet's ground truth).
 */
export const AUDIT_CODES = {
  // control plane
  'control-plane-missing': 'error',
  'control-plane-revisions': 'info',
  'root-cert-missing': 'warning',
  'root-cert-expired': 'error',
  'root-cert-expiring': 'warning',
  'intermediate-cert-expired': 'error',
  'intermediate-cert-expiring': 'warning',
  // proxies
  'proxy-unreadable': 'warning',
  'proxy-version-unsupported': 'error',
  'proxy-version-skew': 'warning',
  'proxy-skew-after-upgrade': 'warning',
  'workload-cert-missing': 'error',
  'workload-cert-expired': 'error',
  'workload-cert-not-rotated': 'warning',
  'workload-cert-untrusted-root': 'error',
  'trust-bundle-stale': 'error',
  'gateway-cert-expired': 'error',
  'gateway-cert-expiring': 'warning',
  'gateway-cert-host-mismatch': 'error',
  'sds-secret-warming': 'error',
  'listener-error': 'error',
  'inbound-permissive': 'warning',
  'inbound-plaintext': 'error',
  'drift-accepts-plaintext': 'error',
  'drift-stricter-than-policy': 'warning',
  // policy
  'destinationrule-tls-disabled': 'error',
  'destinationrule-tls-simple': 'warning',
  'pod-without-sidecar': 'error',
  'plaintext-endpoint': 'error',
  'plaintext-endpoint-outside-mesh': 'info',
  'ambient-not-verified': 'info',
  // the audit itself
  'no-proxy-read': 'warning',
} as const satisfies Record<string, Severity>;

export type AuditCode = keyof typeof AUDIT_CODES;

export function severityOf(code: AuditCode): Severity {
  return AUDIT_CODES[code];
}
