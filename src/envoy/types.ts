/**
 * Contracts of the pure Envoy admin parsers (src/envoy/*). Everything here is plain data that
 * can be serialised to JSON. The `inspect` JSON output is built from ProxyPosture and is a
 * public contract (fields may be added, never renamed or removed).
 */

export type ListenerState = 'active' | 'warming' | 'draining' | 'error';
export type DownstreamTls = 'none' | 'tls' | 'mtls' | 'mixed';
export type UpstreamTls = 'none' | 'tls' | 'mtls' | 'auto-mtls';
export type InboundMode = 'STRICT' | 'PERMISSIVE' | 'PLAINTEXT';

/** A decoded X.509 certificate (node:crypto X509Certificate). */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  serial: string;            // upper-case hex, as node:crypto prints it
  notBefore: string;         // ISO 8601
  notAfter: string;          // ISO 8601
  uriSans: string[];
  dnsSans: string[];
  spiffeId: string | null;   // first URI SAN starting with spiffe://
  isCa: boolean;
  fingerprint256: string;    // lower-case hex without colons (what Envoy's XFCC Hash carries)
  pem: string;
}

/** One filter chain's TLS as Envoy would apply it to a downstream connection. */
export interface FilterChainTls {
  name: string | null;
  destinationPort: number | null;
  transportProtocol: string | null;     // 'tls', 'raw_buffer' or null (any)
  serverNames: string[];
  applicationProtocols: string[];
  /** none: plaintext; tls: terminates TLS; mtls: terminates and requires a client cert;
   *  passthrough: matches TLS but has no DownstreamTlsContext (does not terminate). */
  tls: 'none' | 'tls' | 'mtls' | 'passthrough';
  requireClientCertificate: boolean;
  certificateSecrets: string[];         // SDS names, e.g. 'default', 'kubernetes://cred'; a path for file-mounted certificates
  validationSecret: string | null;      // e.g. 'ROOTCA'
  /** Added: the trusted CA file of a file-mounted validation context (e.g. /etc/certs/root-cert.pem). */
  validationFile?: string;
  /** Added: SAN matchers applied to the client certificate (mTLS chains), [] when none. */
  peerSanMatchers?: SanMatcher[];
}

export interface ListenerTls {
  name: string;
  address: string | null;
  port: number | null;
  state: ListenerState;
  downstreamTls: DownstreamTls;
  secrets: string[];
  filterChains: FilterChainTls[];
  /** Error text when state is 'error'. */
  error?: string | null;
  /** Added: from the bootstrap (static_listeners: admin, health, prometheus), not from xDS. */
  static?: boolean;
  /** Added: set when a TLS chain's only certificate is an SDS secret still warming: the
   *  listener cannot complete a TLS handshake there. */
  certificateWarming?: string;
}

export interface InboundPortMode {
  port: number;
  mode: InboundMode;
  /** false when the listener holding these chains is not active (warming, draining, error). */
  inEffect: boolean;
  listener: string;
  /** Added: true for the catch-all chains (no destination port; reported as port 0). */
  catchAll?: boolean;
}

export interface ClusterEndpoint {
  address: string;
  port: number | null;
  /** EDS metadata `envoy.transport_socket_match.tlsMode` ('istio', 'disabled') or null when absent. */
  tlsMode: string | null;
}

export interface ClusterTls {
  name: string;
  upstreamTls: UpstreamTls;
  sans: string[];
  verifiesServer: boolean;
  presentsClientCertificate: boolean;
  controlPlane: boolean;
  sni: string | null;
  alpn: string[];
  certificateSecrets: string[];
  validationSecret: string | null;
  /** 'outbound' | 'inbound' | 'other' from Istio's cluster name `<dir>|port|subset|host`. */
  direction: 'outbound' | 'inbound' | 'other';
  service: { port: number | null; subset: string; host: string } | null;
  /** Endpoints from EDS (include_eds) or null when the dump has none for this cluster. */
  endpoints: ClusterEndpoint[] | null;
  /** Added: every SAN matcher (exact/prefix/suffix/contains/regex, typed or not). `sans` holds
   *  their values; use `sanMatches()` from src/envoy/san-match.ts to test an identity. */
  sanMatchers?: SanMatcher[];
  /** Added: SPIFFE trust domains of Envoy's SPIFFE custom validator, when used. */
  trustDomains?: string[];
  /** Added: from the bootstrap (static_clusters) rather than xDS. */
  static?: boolean;
  /** Added: 'warming' for dynamic_warming_clusters. */
  state?: 'active' | 'warming';
  /** Added: for auto-mtls with known endpoints: mtls when every endpoint carries tlsMode istio,
   *  none when none does, mixed otherwise; null when endpoints are unknown or not auto-mtls. */
  endpointTls?: 'mtls' | 'none' | 'mixed' | null;
  /** Added: the Istio object that shaped this cluster, from `metadata.filter_metadata.istio.config`
   *  (istiod writes `/apis/GROUP/VERSION/namespaces/NS/KEBAB-KIND/NAME` for a DestinationRule). */
  istioConfig?: string;
}

/** One SAN matcher of a CertificateValidationContext. */
export interface SanMatcher {
  /** 'URI', 'DNS', ... for match_typed_subject_alt_names; null for untyped matchers. */
  sanType: string | null;
  kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex';
  value: string;
  ignoreCase?: boolean;
}

export interface SecretInfo {
  name: string;
  state: 'active' | 'warming';
  kind: 'certificate' | 'trust-bundle' | 'unknown';
  uriSans: string[];
  notAfter: string | null;
  expired: boolean | null;
  /** Decoded chain (leaf first) for certificates, all roots for trust bundles; [] if none inline. */
  chain: CertificateInfo[];
  /** Added: the file a file-based secret reads (`filename` DataSource); its PEM is not in the dump. */
  file?: string;
  /** Added: per-trust-domain roots of a SPIFFE validator trust bundle (SPIRE, multi-trust-domain Istio). */
  trustDomains?: TrustDomainBundle[];
}

/** One trust domain of an `envoy.tls.cert_validator.spiffe` validation context. */
export interface TrustDomainBundle {
  name: string;
  roots: CertificateInfo[];
  notAfter: string | null;
  expired: boolean | null;
  file?: string;
}

export interface ProxyPosture {
  proxy: {
    /** From the node id's first field; 'waypoint' is an ambient-mode L7 proxy (Istio >= 1.18). */
    type: 'sidecar' | 'router' | 'waypoint' | null;
    id: string | null;
    istioVersion: string | null;
    envoyVersion?: string | null;
    namespace?: string | null;
    podName?: string | null;
  };
  inbound: InboundPortMode[];
  listeners: ListenerTls[];
  clusters: ClusterTls[];
  secrets: SecretInfo[];
  /** Added: the config dump sections present (short @type names, e.g. 'ListenersConfigDump'). */
  sections?: string[];
  /** Added: how the dump was written when not Envoy's current snake_case v3 layout. */
  layout?: string[];
  /** Added: sections present that gave nothing, and similar problems reading the dump. */
  warnings?: string[];
}

/** Counters and gauges from /stats (text or JSON). Histograms are ignored. */
export type StatsSnapshot = Map<string, number>;

/** One `istio_requests_total` series from /stats/prometheus, Istio's labels named. */
export interface IstioRequestSeries {
  reporter: string | null;                  // 'source' | 'destination'
  sourceWorkload: string | null;
  sourceNamespace: string | null;
  sourcePrincipal: string | null;           // 'spiffe://...' or 'unknown'
  destinationWorkload: string | null;
  destinationNamespace: string | null;
  destinationPrincipal: string | null;
  destinationService: string | null;
  destinationServiceName: string | null;
  connectionSecurityPolicy: string | null;  // 'mutual_tls' | 'none' | 'unknown'
  requestProtocol: string | null;
  responseCode: string | null;
  responseFlags: string | null;
  value: number;
  labels: Record<string, string>;
}

/** One sample from /stats/prometheus. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One entry of /certs. */
export interface CertsEntry {
  caCert: CertsDetail[];
  certChain: CertsDetail[];
}
export interface CertsDetail {
  path: string | null;
  serialNumber: string | null;
  uriSans: string[];
  dnsSans: string[];
  daysUntilExpiration: number | null;
  validFrom: string | null;
  expirationTime: string | null;
}

/** One cluster from /clusters (text or ?format=json). */
export interface ClusterStatus {
  name: string;
  addedViaApi: boolean | null;
  hosts: { address: string; stats: Record<string, number>; health: string[] }[];
}

export interface ServerInfo {
  version: string | null;         // full Envoy version string
  envoyVersion: string | null;    // e.g. '1.30.5'
  state: string | null;
  serviceNode: string | null;     // e.g. 'sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local'
  istioVersion: string | null;    // from node metadata ISTIO_VERSION when present
  uptimeSeconds: number | null;
}

/** A parsed JSON access-log line (keys of ACCESS_LOG_FORMAT; '-' and empty become null). */
export interface AccessLogEntry {
  /** x-request-id as this proxy saw it (an edge proxy logs the one it generated). */
  requestId: string | null;
  /** x-mesh-verify-id: the probe's own id, which no proxy replaces (null when not logged). */
  meshVerifyId: string | null;
  startTime: string | null;
  method: string | null;
  path: string | null;
  authority: string | null;
  responseCode: number | null;
  responseFlags: string | null;
  /** The cluster's name, without the `;` of an alt_stat_name logged by %UPSTREAM_CLUSTER%. */
  upstreamCluster: string | null;
  upstreamHost: string | null;
  downstreamLocalAddress: string | null;
  downstreamRemoteAddress: string | null;
  requestedServerName: string | null;
  downstreamPeerUriSan: string | null;
  downstreamTlsVersion: string | null;
  downstreamPeerCertSha256: string | null;
  upstreamPeerUriSan: string | null;
  upstreamTlsVersion: string | null;
  /** What was negotiated and with whom (null when the format does not log them). */
  downstreamTlsCipher?: string | null;
  downstreamPeerIssuer?: string | null;
  downstreamPeerSerial?: string | null;
  upstreamTlsCipher?: string | null;
  upstreamPeerSubject?: string | null;
  upstreamPeerIssuer?: string | null;
  upstreamTransportFailureReason: string | null;
  raw: Record<string, unknown>;
}
