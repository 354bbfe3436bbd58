import { X509Certificate } from 'node:crypto';
import type { RecordedContext } from './recorded.js';

/**
 * Per-pod variation of a recorded Envoy answer: the values the recording configured (pod name,
 * namespace, app and service account, pod IP, Istio and Envoy versions, certificate PEMs and
 * what /certs says of them) are replaced by the fleet pod's own. Nothing else changes: the
 * structure is always the recorded one.
 */
export interface PodValues {
  podName: string;
  namespace: string;
  app: string;
  serviceAccount: string;
  podIp: string;
  istioVersion: string;
  envoyVersion: string;
  chainPem: string;
  rootPem: string;
  /** Gateway credentials by SDS name (the recorded ones that the fleet also has). */
  credentials: Record<string, string>;
}

type Json = Record<string, unknown>;

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g;
const pemBlocks = (text: string): string[] => text.match(PEM_BLOCK) ?? [];

/** A certificate as Envoy's /certs describes it (envoy.admin.v3.CertificateDetails). */
export function certificateDetails(pem: string, now = Date.now()): Json {
  const x = new X509Certificate(pem);
  const sans = (x.subjectAltName ?? '').split(', ').filter(Boolean);
  const notAfter = new Date(x.validTo).getTime();
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  return {
    serial_number: x.serialNumber.toLowerCase(),
    subject_alt_names: sans.flatMap((s): Json[] => (s.startsWith('URI:') ? [{ uri: s.slice(4) }] : s.startsWith('DNS:') ? [{ dns: s.slice(4) }] : [])),
    days_until_expiration: String(Math.max(0, Math.floor((notAfter - now) / 86_400_000))),
    valid_from: iso(new Date(x.validFrom).getTime()),
    expiration_time: iso(notAfter),
  };
}

export class Substitution {
  private readonly tokens: RegExp | null;
  private readonly tokenMap = new Map<string, string>();
  /** Whole string values: recorded PEM -> the pod's PEM (also both in base64, inline_bytes' form). */
  private readonly pems = new Map<string, string>();
  /** Recorded certificate serial -> the pod's certificate PEM (for /certs). */
  private readonly serials = new Map<string, string>();
  private readonly envoyParts: { major_number: number; minor_number: number; patch: number } | null;

  constructor(recorded: RecordedContext, private readonly pod: PodValues) {
    const pairs: [string, string][] = [
      [recorded.podName, pod.podName], [recorded.namespace, pod.namespace], [recorded.app, pod.app],
      [recorded.serviceAccount, pod.serviceAccount], [recorded.podIp, pod.podIp],
      // server_info's version string `<sha>/<version>/<status>/RELEASE/BoringSSL`.
      [`/${recorded.envoyVersion}/`, `/${pod.envoyVersion}/`],
    ];
    for (const [from, to] of pairs) if (from !== to && !this.tokenMap.has(from)) this.tokenMap.set(from, to);
    // Longest first; a token never matches inside a longer name or address (10.0.0.1 in 10.0.0.12).
    const keys = [...this.tokenMap.keys()].sort((a, b) => b.length - a.length);
    this.tokens = keys.length ? new RegExp(`(?<![A-Za-z0-9-])(?:${keys.map(escape).join('|')})(?![A-Za-z0-9-])`, 'g') : null;
    const pem = (from: string, to: string | undefined) => {
      if (!to || from === to) return;
      this.pems.set(from, to);
      // SDS secrets carry their PEMs as inline_bytes (base64), as istio-agent sends them.
      this.pems.set(Buffer.from(from, 'utf8').toString('base64'), Buffer.from(to, 'utf8').toString('base64'));
      // /certs describes the leaf of a chain and each CA of a bundle.
      const [fromLeaf, ...fromRest] = pemBlocks(from);
      const [toLeaf, ...toRest] = pemBlocks(to);
      if (fromLeaf && toLeaf) this.serials.set(new X509Certificate(fromLeaf).serialNumber.toLowerCase(), toLeaf);
      fromRest.forEach((p, i) => { if (toRest[i]) this.serials.set(new X509Certificate(p).serialNumber.toLowerCase(), toRest[i]); });
    };
    pem(recorded.chainPem, pod.chainPem);
    pem(recorded.rootPem, pod.rootPem);
    for (const [name, p] of Object.entries(recorded.credentials)) pem(p, pod.credentials[name]);
    const [major, minor, patch] = pod.envoyVersion.split(/[.-]/).map(Number);
    this.envoyParts = pod.envoyVersion !== recorded.envoyVersion && [major, minor, patch].every(Number.isFinite) ? { major_number: major, minor_number: minor, patch } : null;
  }

  /** Replace the recorded identity tokens in any text (stats, error bodies). */
  text(s: string): string {
    return this.tokens ? s.replace(this.tokens, (m) => this.tokenMap.get(m) ?? m) : s;
  }

  /** A recorded JSON answer (parsed), with every recorded value of this pod's replaced; a new tree. */
  json<T>(value: T): T {
    return this.walk(value, null) as T;
  }

  private walk(value: unknown, key: string | null): unknown {
    if (typeof value === 'string') {
      const pem = this.pems.get(value);
      if (pem !== undefined) return pem;
      if (key === 'ISTIO_VERSION') return this.pod.istioVersion;
      return this.text(value);
    }
    if (Array.isArray(value)) return value.map((v) => this.walk(v, null));
    if (!value || typeof value !== 'object') return value;
    const obj = value as Json;
    if (typeof obj.serial_number === 'string' && this.serials.has(obj.serial_number)) {
      // A /certs CertificateDetails of a substituted certificate: describe the pod's certificate.
      return { ...obj, ...certificateDetails(this.serials.get(obj.serial_number)!) };
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(obj)) out[k] = this.walk(v, k);
    if (key === 'user_agent_build_version' && this.envoyParts && out.version && typeof out.version === 'object') {
      out.version = { ...(out.version as Json), ...this.envoyParts };
    }
    return out;
  }
}
