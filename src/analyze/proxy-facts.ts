import type { AppEcho, EvidenceBundle, ProxyCapture } from '../bundle/types.js';
import type {
  AccessLogEntry, CertificateInfo, IstioRequestSeries, ProxyPosture, SecretInfo, StatsSnapshot,
} from '../envoy/types.js';
import { isIstioConfigDump, parseConfigDump, postureOf } from '../envoy/config-dump.js';
import { parseStats } from '../envoy/stats.js';
import { istioRequests, parsePrometheus } from '../envoy/prometheus.js';
import { parseAccessLogLine } from '../envoy/access-log.js';
import { echoesOfRequest, runCorrelation, runRequestOf, type RunCorrelation } from '../bundle/correlation.js';

/** An access-log entry tied to one of this run's requests (`runRequestId` = RequestRecord.id). */
export interface RunAccessEntry extends AccessLogEntry {
  runRequestId: string;
}

/** An app's answer to one of this run's requests. */
export interface RunEcho extends AppEcho {
  runRequestId: string;
}

/** Everything the analyzer knows about one proxy, parsed once from its capture. */
export interface ProxyFacts {
  id: string;
  capture: ProxyCapture;
  posture: ProxyPosture | null;
  /** Why some evidence of this proxy is missing ('config_dump not captured', parse errors, ...). */
  gaps: string[];
  statsBefore: StatsSnapshot | null;
  statsAfter: StatsSnapshot | null;
  requestsBefore: IstioRequestSeries[] | null;
  requestsAfter: IstioRequestSeries[] | null;
  /**
   * Access-log entries that belong to this run's requests: tied through mesh_verify_id, or
   * through the x-request-id an app saw for one of them; never through the probe's x-request-id
   * alone (src/bundle/correlation.ts).
   */
  access: RunAccessEntry[];
  /** Workload certificate: SDS secret `default` (leaf first), and the ROOTCA trust bundle. */
  workloadCert: SecretInfo | null;
  roots: CertificateInfo[];
  /** The config dump is not from an Istio proxy (no sidecar~/router~ node, no Istio names). */
  notIstio?: boolean;
}

export interface AnalysisContext {
  bundle: EvidenceBundle;
  now: Date;
  certWarnDays: number;
  proxies: Map<string, ProxyFacts>;
  correlation: RunCorrelation;
  /** Every app answer recorded for this run's requests (bff's and, nested, svc's) that belongs to it. */
  echoes: RunEcho[];
}

function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function proxyFacts(capture: ProxyCapture, now: Date, correlation: RunCorrelation): ProxyFacts {
  const facts: ProxyFacts = {
    id: capture.id, capture, posture: null, gaps: [], statsBefore: null, statsAfter: null,
    requestsBefore: null, requestsAfter: null, access: [], workloadCert: null, roots: [],
  };
  if (!capture.reachable) {
    const why = capture.errors.map((e) => e.message).join('; ');
    facts.gaps.push(`proxy ${capture.id} was not reachable${why ? `: ${why}` : ''}`);
  }
  const a = capture.admin;
  if (a.configDump) {
    const json = parseJsonBody(a.configDump.body);
    if (json === undefined) facts.gaps.push(`config_dump of ${capture.id} is not valid JSON`);
    else {
      const dump = parseConfigDump(json);
      facts.posture = postureOf(dump, now);
      if (!isIstioConfigDump(dump)) facts.notIstio = true;
    }
  } else if (capture.reachable) {
    facts.gaps.push(`config_dump of ${capture.id} was not captured`);
  }
  if (a.statsBefore && a.statsAfter) {
    facts.statsBefore = parseStats(a.statsBefore.body);
    facts.statsAfter = parseStats(a.statsAfter.body);
  }
  if (a.prometheusAfter) {
    facts.requestsAfter = istioRequests(parsePrometheus(a.prometheusAfter.body));
    facts.requestsBefore = a.prometheusBefore ? istioRequests(parsePrometheus(a.prometheusBefore.body)) : null;
  }
  for (const line of capture.accessLog) {
    const entry = parseAccessLogLine(line);
    const runRequestId = entry && runRequestOf(correlation, entry);
    if (entry && runRequestId) facts.access.push({ ...entry, runRequestId });
  }
  const secrets = facts.posture?.secrets ?? [];
  facts.workloadCert = secrets.find((s) => s.name === 'default' && s.kind === 'certificate' && s.chain.length > 0) ?? null;
  facts.roots = secrets.filter((s) => s.name === 'ROOTCA' && s.kind === 'trust-bundle').flatMap((s) => s.chain);
  return facts;
}

const NO_ADMIN: ProxyCapture['admin'] = {
  serverInfo: null, configDump: null, certs: null, clusters: null, statsBefore: null, statsAfter: null, prometheusBefore: null, prometheusAfter: null,
};

/**
 * `untrusted`: proxies whose captured data is not used (marked unreachable, src/analyze/integrity.ts):
 * their facts are built from an empty capture.
 */
export function buildContext(bundle: EvidenceBundle, now: Date, certWarnDays: number, untrusted: ReadonlySet<string> = new Set()): AnalysisContext {
  const correlation = runCorrelation(bundle.requests);
  const proxies = new Map<string, ProxyFacts>();
  for (const capture of bundle.proxies) {
    if (proxies.has(capture.id)) continue; // a duplicate id never replaces the first capture (integrity check unique-proxy-ids)
    const used = untrusted.has(capture.id) || !capture.reachable ? { ...capture, admin: NO_ADMIN, accessLog: [] } : capture;
    proxies.set(capture.id, proxyFacts(used, now, correlation));
  }
  const echoes = bundle.requests.flatMap((r) => echoesOfRequest(r).map((e): RunEcho => ({ ...e, runRequestId: r.id })));
  return { bundle, now, certWarnDays, proxies, correlation, echoes };
}

/** A proxy's name for humans: `gateway (istio-system/istio-ingressgateway-...)`. */
export function proxyLabel(p: ProxyFacts): string {
  return `${p.id} (${p.capture.pod.namespace}/${p.capture.pod.name})`;
}
