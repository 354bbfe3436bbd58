import type { CertsEntry, ProxyPosture, StatsSnapshot } from '../envoy/types.js';
import type { CertificateFacts, InspectResult, StatsFacts, TlsCounter } from './types.js';
import { CONTROL_PLANE_CLUSTERS } from '../envoy/cluster-tls.js';

/**
 * Join the posture with optional /certs and /stats facts (pure). Days left on a /certs
 * certificate are computed at `now` (default: the current time), never copied from the capture.
 */
export function assembleInspectResult(posture: ProxyPosture, certs?: CertsEntry[], stats?: StatsSnapshot, now: Date = new Date()): InspectResult {
  const result: InspectResult = { ...posture };
  if (certs) result.certificates = certificateFacts(posture, certs, now);
  if (stats) result.stats = statsFacts(posture, stats);
  return result;
}

const normalizeSerial = (s: string) => s.toLowerCase().replace(/^0+(?=.)/, '');

const DAY_MS = 86_400_000;

/**
 * Whole days from `now` to `notAfter`, truncated toward zero as Envoy's
 * `Utility::getDaysUntilExpiration` does (ASN1_TIME_diff; source/common/tls/utility.cc); negative
 * once expired. Null when the expiry is unknown.
 */
export function daysUntil(notAfter: string | null, now: Date): number | null {
  if (notAfter === null) return null;
  const t = new Date(notAfter).getTime();
  if (Number.isNaN(t)) return null;
  // Envoy's clock for this is whole seconds (an ASN1_TIME made from time_t).
  const nowSeconds = Math.floor(now.getTime() / 1000) * 1000;
  return Math.trunc((t - nowSeconds) / DAY_MS) || 0;
}

function certificateFacts(posture: ProxyPosture, certs: CertsEntry[], now: Date): CertificateFacts {
  // A CA from /certs belongs to a trust bundle (ROOTCA); a chain certificate to a certificate
  // secret's leaf. Workload secrets also carry their root, so index by role first.
  const caSerials = new Map<string, string>();
  const leafSerials = new Map<string, string>();
  const anySerials = new Map<string, string>();
  for (const secret of posture.secrets) {
    secret.chain.forEach((cert, i) => {
      const key = normalizeSerial(cert.serial);
      if (secret.kind === 'trust-bundle' && !caSerials.has(key)) caSerials.set(key, secret.name);
      if (secret.kind === 'certificate' && i === 0 && !leafSerials.has(key)) leafSerials.set(key, secret.name);
      if (!anySerials.has(key)) anySerials.set(key, secret.name);
    });
  }
  const secretFor = (role: 'ca' | 'chain', serial: string | null): string | null => {
    if (!serial) return null;
    const key = normalizeSerial(serial);
    return (role === 'ca' ? caSerials : leafSerials).get(key) ?? anySerials.get(key) ?? null;
  };
  const notAfterBySerial = new Map<string, string>();
  for (const secret of posture.secrets) for (const cert of secret.chain) notAfterBySerial.set(normalizeSerial(cert.serial), cert.notAfter);
  const entries: CertificateFacts['entries'] = [];
  for (const entry of certs) {
    for (const [role, list] of [['ca', entry.caCert], ['chain', entry.certChain]] as const) {
      for (const d of list) {
        // The expiry itself (from /certs, else the same certificate in the dump) decides; the
        // captured days_until_expiration was true only when the capture was taken.
        const notAfter = d.expirationTime ?? (d.serialNumber ? notAfterBySerial.get(normalizeSerial(d.serialNumber)) ?? null : null);
        const days = daysUntil(notAfter, now);
        entries.push({
          role,
          serialNumber: d.serialNumber,
          uriSans: d.uriSans,
          daysUntilExpiration: days,
          expired: days === null ? null : new Date(notAfter as string).getTime() <= now.getTime(),
          capturedDaysUntilExpiration: d.daysUntilExpiration,
          expirationTime: d.expirationTime ?? notAfter,
          secret: secretFor(role, d.serialNumber),
        });
      }
    }
  }
  const days = entries.map((e) => e.daysUntilExpiration).filter((d): d is number => d !== null);
  return { entries, minDaysUntilExpiration: days.length ? Math.min(...days) : null };
}

const LISTENER_SSL = /^listener\.(.+)\.ssl\.(handshake|connection_error)$/;
// Istio >= 1.23 clusters have alt_stat_name `<name>;`: their stats are cluster.<name>;.ssl.* (the name is without ';').
const CLUSTER_SSL = /^cluster\.(.+?);?\.ssl\.(handshake|connection_error|fail_verify_san|fail_verify_error|fail_verify_no_cert|fail_verify_cert_hash)$/;

function statsFacts(posture: ProxyPosture, stats: StatsSnapshot): StatsFacts {
  const listeners = new Map<string, TlsCounter>();
  const clusters = new Map<string, TlsCounter>();
  const controlPlaneNames = new Set([...CONTROL_PLANE_CLUSTERS, ...posture.clusters.filter((c) => c.controlPlane).map((c) => c.name)]);
  for (const [name, value] of stats) {
    const lm = LISTENER_SSL.exec(name);
    if (lm) {
      const c = listeners.get(lm[1]) ?? { name: lm[1], handshakes: 0, connectionErrors: 0 };
      if (lm[2] === 'handshake') c.handshakes += value;
      else c.connectionErrors += value;
      listeners.set(lm[1], c);
      continue;
    }
    const cm = CLUSTER_SSL.exec(name);
    if (cm) {
      const c = clusters.get(cm[1]) ?? { name: cm[1], handshakes: 0, connectionErrors: 0, verifyFailures: 0, controlPlane: controlPlaneNames.has(cm[1]) };
      if (cm[2] === 'handshake') c.handshakes += value;
      else if (cm[2] === 'connection_error') c.connectionErrors += value;
      else c.verifyFailures = (c.verifyFailures ?? 0) + value;
      clusters.set(cm[1], c);
    }
  }
  const byName = (a: TlsCounter, b: TlsCounter) => a.name.localeCompare(b.name);
  const clusterList = [...clusters.values()].sort(byName);
  const listenerList = [...listeners.values()].filter((l) => l.name !== 'admin').sort(byName);
  const dataPlaneSslStats = listenerList.length > 0 || clusterList.some((c) => !c.controlPlane);
  const notes: string[] = [];
  if (!dataPlaneSslStats) {
    notes.push('no data-plane ssl.* stats: Istio\'s default stats inclusion does not create them, so their absence is not evidence of plaintext');
  }
  if (clusterList.some((c) => c.controlPlane)) notes.push('control-plane ssl stats (e.g. cluster.xds-grpc.ssl.*) are never data-plane evidence');
  return { statCount: stats.size, dataPlaneSslStats, listeners: listenerList, clusters: clusterList, notes };
}
