import type { LabAddresses } from './istio-shape/resources.js';
import type { LabProxyRole, ProxyTlsPatches } from './envoy-filter.js';

/**
 * Contracts between the lab's parts. The lab is a SIMULATION of a cluster around real Envoy and a
 * real Kubernetes control plane: real sockets, TLS, certificates, admin endpoints and API; the
 * node, the container runtime and istiod are simulated. Every report produced against it says so.
 *
 *   src/lab/envoy-plane.ts  REAL Envoy as nlb, gateway and sidecars; the real app; the mesh CA
 *   src/lab/istio-shape/*   the stand-in for istiod: Istio-shaped xDS for those Envoys
 *   src/lab/kube-control-plane.ts  the REAL Kubernetes control plane (apiserver, etcd, kcm, scheduler, kwok)
 *   src/lab/kube-lab.ts  startLab(): wires them, the scale fleet (src/lab/scale/) too, and
 *                        translates Istio objects into MeshState                            (issue 3 §5)
 *   src/lab/pod-runtime.ts  the kubelet's part: a container's argv, env and volumes from its pod
 */

export const LAB_FAULTS = [
  'plaintext-gateway-bff', // gateway sends plaintext to bff; bff's sidecar is PERMISSIVE
  'permissive-svc',        // svc is PERMISSIVE and a plaintext caller reaches it
  'no-sidecar-svc',        // svc runs without a sidecar: bff's sidecar sends plaintext
  'expired-cert',          // svc's workload certificate is expired
  'foreign-root',          // svc's workload certificate chains to another root
  'nlb-terminates-tls',    // the NLB presents its own certificate and re-originates TLS
  'stats-filtered',        // Istio's default stats inclusion: no data-plane ssl.* stats
] as const;
export type LabFault = (typeof LAB_FAULTS)[number];

export function isLabFault(name: string): name is LabFault {
  return (LAB_FAULTS as readonly string[]).includes(name);
}

/**
 * What the lab's "istiod" has decided, per the applied objects and the fault. The data plane is
 * (re)configured from this; its sockets and admin output follow it consistently.
 */
export interface MeshState {
  /** How the gateway's cluster to bff sends: Istio mTLS, or plaintext (DestinationRule DISABLE). */
  gatewayToBff: 'mtls' | 'plaintext';
  /** Inbound mode of the bff and svc sidecars (PeerAuthentication). */
  inbound: { bff: 'STRICT' | 'PERMISSIVE'; svc: 'STRICT' | 'PERMISSIVE' };
  /** svc has an istio-proxy (injection on). When false, bff's sidecar sends plaintext to svc. */
  svcSidecar: boolean;
  /** A workload without a sidecar calls svc in plaintext once per probe request. */
  plaintextCallerToSvc: boolean;
  /** Certificate faults on svc's workload certificate. */
  svcCert: 'valid' | 'expired' | 'foreign-root';
  /** The NLB terminates TLS with its own certificate and re-originates to the gateway. */
  nlbTerminatesTls: boolean;
  /** proxyStatsMatcher includes ssl.* and connection totals (false = Istio default inclusion). */
  includeSslStats: boolean;
  /**
   * The gateway's server tls_params (HTTPS server of the ingress Gateway): meshConfig.tlsDefaults,
   * then the Gateway's servers[].tls, as istiod layers them (control-plane.ts gatewayTlsParams).
   */
  gatewayTls: TlsParams;
  /** meshConfig.tlsDefaults as istiod last accepted it (what gatewayTls was layered on). */
  tlsDefaults: TlsConfigFields;
  /** The sidecars' inbound mesh mTLS tls_params: meshConfig.meshMTLS (control-plane.ts meshMtlsParams). */
  meshMtlsTls: TlsParams;
  /**
   * Why the lab's istiod refused the mesh config in ConfigMap istio-system/istio (it then keeps the
   * last known one, as istiod does); null: accepted.
   */
  meshConfigRejected: string | null;
  /** tls_params patches of EnvoyFilters (MERGE into TLS sockets), per proxy (src/lab/envoy-filter.ts). */
  envoyFilterTls: Record<LabProxyRole, ProxyTlsPatches>;
  /** EnvoyFilter patches the lab does not model (ignored, never half-applied), one line each. */
  envoyFiltersIgnored: string[];
}

/** meshConfig.TLSConfig (tlsDefaults, meshMTLS) or a Gateway server's tls, as written in YAML. */
export interface TlsConfigFields {
  minProtocolVersion?: string;
  maxProtocolVersion?: string;
  cipherSuites?: string[];
  ecdhCurves?: string[];
}

/** Envoy's TlsParameters protocol names. */
export type EnvoyTlsVersion = 'TLSv1_0' | 'TLSv1_1' | 'TLSv1_2' | 'TLSv1_3';

/** What istiod writes into a context's common_tls_context.tls_params; null: the field is not set (Envoy's default). */
export interface TlsParams {
  minVersion: EnvoyTlsVersion | null;
  maxVersion: EnvoyTlsVersion | null;
  /** cipher_suites (TLS 1.0-1.2 only: BoringSSL's TLS 1.3 suites are not configurable). */
  cipherSuites: string[] | null;
  /** ecdh_curves (the key-exchange groups, TLS 1.2 and 1.3). */
  ecdhCurves: string[] | null;
}

export const HEALTHY_MESH: MeshState = {
  gatewayToBff: 'mtls',
  inbound: { bff: 'STRICT', svc: 'STRICT' },
  svcSidecar: true,
  plaintextCallerToSvc: false,
  svcCert: 'valid',
  nlbTerminatesTls: false,
  includeSslStats: true,
  gatewayTls: { minVersion: 'TLSv1_2', maxVersion: 'TLSv1_3', cipherSuites: null, ecdhCurves: null },
  tlsDefaults: {},
  meshMtlsTls: {
    minVersion: 'TLSv1_2', maxVersion: 'TLSv1_3', ecdhCurves: null,
    cipherSuites: ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-GCM-SHA256'],
  },
  meshConfigRejected: null,
  envoyFilterTls: { gateway: { listener: [], clusters: [] }, bff: { listener: [], clusters: [] }, svc: { listener: [], clusters: [] } },
  envoyFiltersIgnored: [],
};

/** A pod the lab runs processes for (the reference pods, the scale fleet's proxies). */
export interface LabPod {
  namespace: string;
  name: string;
  /** Deployment / app label. */
  app: string;
  serviceAccount: string;
  ip: string;
  labels: Record<string, string>;
  /** Container name -> whether it is there (istio-proxy absent for no-sidecar workloads). */
  containers: string[];
  /**
   * istio-proxy is injected as a native sidecar (an init container with restartPolicy Always).
   * Default: as Istio does on the lab's node (Kubernetes >= 1.33: yes).
   */
  nativeSidecar?: boolean;
  /**
   * The loopback address the pod's ports are on (the lab gives each pod an address of its own);
   * default 127.0.0.1.
   */
  host?: string;
  /** Container port -> port on `host` that a port-forward to it reaches (15000 -> Envoy's admin). */
  ports: Record<number, number>;
  /**
   * A pod in its own network namespace (src/lab/pod-network.ts): the command kwok's PortForward
   * runs for a container port (a relay to 127.0.0.1:<port> inside the pod, as a kubelet's).
   */
  forward?(port: number): string[];
  /** Log lines per container ('istio-proxy' = access log, app container = app log). */
  logs(container: string): string[];
}

export interface LabPodNetwork {
  bridge: string;
  netns: Partial<Record<'gateway' | 'bff' | 'svc', string>>;
}

export interface RunningLab {
  /** Always true: consumers put it in every report. */
  simulated: true;
  /** The real Envoy the lab runs (binary and the version it reports). */
  envoy: { path: string; version: string };
  fault: LabFault | null;
  state: MeshState;
  /** The NLB-equivalent the external client connects to. */
  nlb: { host: string; port: number };
  /** The NLB's address, each pod's IP and svc's ClusterIP (the real data plane; absent for a test double): what `path --capture` records. */
  addresses?: LabAddresses;
  /** Where the pods' packets are: the pods' bridge, and each role's network namespace (its path). */
  podNetwork?(): LabPodNetwork | null;
  publicHost: string;
  /** The external CA that issued the gateway credential (what a client trusts). */
  externalCaPem: string;
  meshRootPem: string;
  apiServerUrl: string;
  kubeconfigPath: string;
  pods(): LabPod[];
  stop(): Promise<void>;
}

export interface LabOptions {
  fault?: LabFault | null;
  /** Where to write the kubeconfig (default: a temp file removed on stop). */
  kubeconfigOut?: string;
  /** The Envoy binary (default: findEnvoy(): MESH_VERIFY_ENVOY, the cache, PATH). */
  envoy?: string;
  /**
   * meshConfig fields laid over the lab's install (fixtures/istio/istio-operator.yaml), as a second
   * `istioctl install -f` overlay would: what ConfigMap istio-system/istio holds when the lab starts.
   */
  meshConfig?: Record<string, unknown>;
  /** Objects applied once the lab is up, as `kubectl apply -f` would (an EnvoyFilter, ...); startLab returns once istiod pushed them. */
  objects?: Record<string, unknown>[];
  /** Scale mode for audit benchmarks: N extra proxy pods (issue 5). */
  proxies?: number;
  /** Seed of the scale fleet's deterministic variety (default 1). */
  fleetSeed?: number;
  log?: (line: string) => void;
}

/** A Kubernetes object as JSON, with its name (and namespace) always there. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}
