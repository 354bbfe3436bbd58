/**
 * The evidence bundle, schema version 1: one JSON document holding everything a run saw, so a
 * verdict can be re-judged later and anywhere (`mesh-verify analyze <bundle>`).
 * The JSON Schema lives in schemas/evidence-bundle.v1.schema.json and is checked on load.
 *
 * Raw admin captures are kept as Envoy returned them (text or JSON), so that a better parser can
 * re-read an old bundle. Never stored: private keys, bearer tokens, kubeconfig credentials.
 */
export const BUNDLE_SCHEMA_VERSION = 1 as const;
export const BUNDLE_KIND = 'mesh-verify/evidence-bundle' as const;

export type Protection = 'tls' | 'mtls' | 'plaintext';

export interface EvidenceBundle {
  schemaVersion: typeof BUNDLE_SCHEMA_VERSION;
  kind: typeof BUNDLE_KIND;
  run: RunMetadata;
  path: PathSpec;
  proxies: ProxyCapture[];
  client: ClientObservation | null;
  requests: RequestRecord[];
  /** The wire witness (`path --lab --capture`): a packet capture of the path's hops. Absent: not asked for. */
  wire?: WireEvidence;
}

/**
 * What a packet capture on the lab's loopback saw on each hop (src/collect/wire). Facts only:
 * the analyzer judges them (src/analyze/wire-evidence.ts). Raw packets are not kept.
 */
export interface WireEvidence {
  /** captured: the capture ran; unavailable: it could not (no tcpdump, no capture rights). */
  status: 'captured' | 'unavailable';
  /** Why it is unavailable, or a limit it hit (one line); null when nothing to say. */
  reason: string | null;
  /** The tool and its version, e.g. 'tcpdump 4.99.3'; null when it did not start. */
  tool: string | null;
  interface: string;
  /** The capture filter (pcap-filter syntax): exactly the hops' destinations. */
  filter: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** TCP segments and bytes captured; truncated: a bound (bytes or time) stopped the capture. */
  packets: number;
  bytes: number;
  truncated: boolean;
  /** How the run's marker was searched: its x-mesh-verify-id values (count and one example). */
  marker: { header: string; values: number; example: string | null };
  hops: WireHop[];
}

export interface WireHop {
  /** SegmentSpec.id, e.g. 'gateway->bff-sidecar'. */
  segment: string;
  /** The hop's destination: where its connections go. */
  address: string;
  port: number;
  /** TCP connections seen to the destination (SYN seen or data). */
  connections: number;
  /** Payload bytes in both directions. */
  payloadBytes: number;
  /** Occurrences of the run's marker values in the hop's cleartext bytes, and which values (at most 20). */
  markerHits: number;
  markersSeen: string[];
  /** TLS records whose header starts a client->server or server->client payload. */
  tls: {
    /** Handshake records (content type 22, 0x16) and among them ClientHellos (handshake type 1). */
    handshakeRecords: number;
    clientHellos: number;
    /** Application data records (content type 23, 0x17). */
    applicationDataRecords: number;
    /** Record-layer versions seen, e.g. ['0x0301', '0x0303']. */
    versions: string[];
  };
  /**
   * Connections whose first client bytes are an HTTP/1 request line (cleartext HTTP); among them
   * those that carried none of the run's marker values (another caller's), and their source addresses.
   */
  plaintextHttp: { connections: number; withoutMarker: number; otherSources: string[] };
  /** The first cleartext bytes around a marker hit (printable, at most 160 characters), for humans. */
  sample: string | null;
}

export interface RunMetadata {
  id: string;
  startedAt: string;              // ISO 8601
  finishedAt: string | null;
  tool: { name: string; version: string };
  target: {
    /** kind: a kind cluster we created or reused; cluster: any kubeconfig context;
     *  lab: the local simulated mesh (NOT a cluster); fixture: hand-made test data. */
    kind: 'kind' | 'cluster' | 'lab' | 'fixture';
    simulated: boolean;
    context: string | null;
    server: string | null;        // API server URL (no credentials)
    description: string;
  };
  istio: { version: string | null; revision: string | null } | null;
  scenario: string | null;        // --scenario NAME (cluster) or null
  fault: string | null;           // --fault NAME (lab) or null
  /** tlsGroups / tlsCiphers: what the external client was told to offer (path --tls-groups / --tls-ciphers); absent: node:tls's defaults. */
  options: { requests: number; freshConnections: boolean; tlsGroups?: string[]; tlsCiphers?: string[] };
  notes: string[];
}

export type NodeKind = 'client' | 'nlb' | 'gateway' | 'sidecar' | 'app';

export interface PathNode {
  /** 'client', 'nlb', 'gateway', 'bff-sidecar', 'bff', 'svc-sidecar', 'svc'. */
  id: string;
  kind: NodeKind;
  label: string;
  /** ProxyCapture.id whose admin data describes this node (gateway and sidecars; apps point at their sidecar). */
  proxy: string | null;
}

export interface SegmentSpec {
  /** `<from>-><to>`, e.g. 'gateway->bff-sidecar'. */
  id: string;
  from: string;                   // PathNode.id
  to: string;                     // PathNode.id
  expect: Protection;
  /** Where the evidence for this segment lives (all optional; absent means "not applicable"). */
  hints: {
    /** Upstream cluster on the `from` proxy, e.g. 'outbound|8080||bff.mesh-verify.svc.cluster.local'. */
    cluster?: string;
    /** Inbound port on the `to` proxy (virtualInbound chain / inbound|port|| cluster). */
    inboundPort?: number;
    /** Listener name on the receiving proxy, e.g. '0.0.0.0_8443' for the gateway. */
    listener?: string;
    /** SDS secret the receiving side should present, e.g. 'kubernetes://mesh-verify-credential'. */
    serverSecret?: string;
    /** SPIFFE id expected of the client side (mTLS) and of the server side. */
    clientIdentity?: string;
    serverIdentity?: string;
    /** Loopback hop between a sidecar and its app. */
    loopback?: boolean;
  };
}

export interface PathSpec {
  name: string;                   // 'reference'
  host: string;                   // public host (SNI + Host)
  entry: { address: string; port: number; kind: 'nodeport' | 'loadbalancer' | 'lab-nlb' | 'custom' };
  nodes: PathNode[];
  segments: SegmentSpec[];
  /** The external CA the client trusts for the gateway credential (PEM, public). */
  gatewayCaPem: string | null;
}

export interface CaptureError {
  endpoint: string;               // '/config_dump', '/stats', 'logs', ...
  phase: 'before' | 'after' | 'once';
  message: string;
}

export interface AdminText {
  /** The admin path as requested, e.g. '/stats?format=json' or '/config_dump?mask=...'. */
  request: string;
  contentType: 'text' | 'json';
  body: string;
  capturedAt: string;
}

export interface ProxyCapture {
  /** 'gateway', 'bff', 'svc'. */
  id: string;
  role: 'gateway' | 'sidecar';
  pod: { namespace: string; name: string; ip: string | null };
  /** Expected SPIFFE id of this proxy's workload certificate. */
  expectedIdentity: string | null;
  /** How admin port 15000 was reached. */
  via: 'port-forward' | 'exec' | 'direct' | 'fixture';
  reachable: boolean;
  errors: CaptureError[];
  admin: {
    serverInfo: AdminText | null;
    configDump: AdminText | null;
    certs: AdminText | null;
    clusters: AdminText | null;
    statsBefore: AdminText | null;
    statsAfter: AdminText | null;
    prometheusBefore: AdminText | null;
    prometheusAfter: AdminText | null;
  };
  /**
   * Access-log lines of this proxy that carry one of the run's ids: our x-mesh-verify-id or an
   * x-request-id an app saw for one of our requests (raw, as logged; src/bundle/correlation.ts).
   */
  accessLog: string[];
}

export interface ChainCertificate {
  pem: string;
  subject: string;
  issuer: string;
  fingerprint256: string;         // lower-case hex, no colons
  notAfter: string;
  dnsSans: string[];
  uriSans: string[];
}

export interface ClientObservation {
  connectedTo: { address: string; port: number };
  sni: string;
  host: string;
  tlsVersion: string | null;      // 'TLSv1.3'
  alpn: string | null;            // 'h2' | 'http/1.1' | null
  cipher: string | null;
  /** Key-exchange group of the client's handshake (node:tls getEphemeralKeyInfo), e.g. 'X25519'. */
  group?: string | null;
  /** Chain as presented by the server, leaf first. */
  peerChain: ChainCertificate[];
  /** Did the chain verify against PathSpec.gatewayCaPem for `host`? */
  authorized: boolean;
  authorizationError: string | null;
  error: string | null;
}

export interface RequestRecord {
  /** mesh-verify's id of this request, sent as x-mesh-verify-id (and as x-request-id). */
  id: string;
  /**
   * The x-request-id each hop saw for this request: an edge Envoy (>= 1.33, Istio's gateway)
   * replaces the one we send, so log lines and echoes are tied to the run through `id` and
   * through these. Absent in bundles written before it was recorded.
   */
  requestIds?: RequestIdTrail;
  sentAt: string;
  path: string;
  status: number | null;
  error: string | null;
  durationMs: number | null;
  /** Did this request reuse an already-open TLS connection? */
  reusedConnection: boolean;
  /** The bff app's JSON answer (what bff and svc received), or null. */
  response: AppEcho | null;
}

export interface RequestIdTrail {
  /** The x-request-id the probe sent. */
  sent: string;
  /** In path order: the access-log line of each proxy, then each app's echo. */
  seen: HopRequestId[];
}

export interface HopRequestId {
  /** ProxyCapture.id for an access-log line, AppEcho.service for an app's echo. */
  at: string;
  source: 'access_log' | 'app_echo';
  /** The x-request-id it logged or received (null: it had none). */
  requestId: string | null;
}

/** What the reference app returns (fixtures/topology/app/app.mjs). */
export interface AppEcho {
  service: string;                // 'bff' | 'svc'
  pod: string | null;
  /** The x-request-id the app received. */
  requestId: string | null;
  /** The x-mesh-verify-id the app received (absent: an app that predates it). */
  meshVerifyId?: string | null;
  method: string;
  path: string;
  headers: Record<string, string>;
  upstream?: { url: string; status: number | null; error: string | null; body: AppEcho | null } | null;
}
