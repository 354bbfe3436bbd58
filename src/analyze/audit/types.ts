import type { Finding } from '../types.js';
import type { ProxyPosture } from '../../envoy/types.js';

/**
 * Inputs of the audit rules: plain data read from the Kubernetes API (src/collect/audit) and
 * each proxy's posture (src/envoy). The rules are pure: inputs -> findings.
 */

export type PeerAuthMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface AuditOptions {
  /** Certificates (mesh root, intermediates, gateway credentials) expiring within this many days warn. */
  minCertDays: number;
  /** Istio version the operator plans to move the control plane to ('1.24'), or null. */
  targetVersion: string | null;
  now: Date;
  /** Istio's root namespace (mesh-wide PeerAuthentication), normally istio-system. */
  rootNamespace: string;
}

export interface IstiodFacts {
  namespace: string;
  /** Deployment name. */
  name: string;
  revision: string;
  /** '1.22.3' from the discovery container image tag, or null. */
  version: string | null;
  image: string | null;
  readyReplicas: number;
  replicas: number;
}

export interface ControlPlaneFacts {
  istiods: IstiodFacts[];
  /** Current mesh roots (PEM), from the istio-ca-root-cert ConfigMap of the root namespace; [] when absent. */
  rootPems: string[];
  /** Where the roots were read, for evidence: 'configmap istio-system/istio-ca-root-cert'. */
  rootSource: string;
}

export interface NamespaceFacts {
  name: string;
  /** Sidecar injection is on (istio-injection=enabled or an istio.io/rev label). */
  injected: boolean;
  /** Revision named by istio.io/rev, else 'default' when injected, else null. */
  revision: string | null;
  /** Label istio.io/dataplane-mode: 'ambient' enrols the namespace's pods in ztunnel (ambient mode). */
  dataplaneMode: string | null;
}

export interface PodFacts {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccount: string | null;
  ip: string | null;
  hasSidecar: boolean;
  /**
   * The proxy runs as a gateway: its istio-proxy container's role argument is `router`
   * (`pilot-agent proxy router`), or, without arguments, the pod asks for Istio's gateway
   * injection template. Never inferred from the number of app containers (native sidecars).
   */
  gateway: boolean;
  /** istio-proxy is a native sidecar (an init container with restartPolicy Always, Kubernetes >= 1.29). */
  nativeSidecar: boolean;
  /** Pod label istio.io/dataplane-mode ('ambient', 'none'), or null. */
  dataplaneMode: string | null;
  /** Annotation ambient.istio.io/redirection ('enabled' once istio-cni enrolled the pod in ztunnel), or null. */
  ambientRedirection: string | null;
  /** Revision of its control plane (istio.io/rev label, sidecar.istio.io/status revision) or 'default'. */
  revision: string;
  /** Why the pod is not running/ready (pod-status), or null. */
  problem: string | null;
  /** Container ports of the app containers. */
  ports: number[];
}

export interface PeerAuthenticationFacts {
  namespace: string;
  name: string;
  /** matchLabels of spec.selector, or null (namespace- or mesh-wide). */
  selector: Record<string, string> | null;
  /** null = UNSET (inherit). */
  mode: PeerAuthMode | null;
  portLevel: Record<number, PeerAuthMode | null>;
  createdAt: string | null;
}

export interface DestinationRuleTls {
  /** 'trafficPolicy', 'trafficPolicy port 8080', 'subset v1', 'subset v1 port 8080'. */
  where: string;
  mode: string;
}

export interface DestinationRuleFacts {
  namespace: string;
  name: string;
  host: string;
  tls: DestinationRuleTls[];
}

export interface ServiceFacts {
  namespace: string;
  name: string;
  selector: Record<string, string> | null;
  ports: { port: number; targetPort: number | string | null; name: string | null }[];
}

export interface MeshPolicy {
  namespaces: NamespaceFacts[];
  pods: PodFacts[];
  services: ServiceFacts[];
  peerAuthentications: PeerAuthenticationFacts[];
  destinationRules: DestinationRuleFacts[];
}

/** One proxy's data as read from its admin endpoint, or why it could not be read. */
export type ProxyReading =
  | { pod: PodFacts; ok: true; posture: ProxyPosture }
  | { pod: PodFacts; ok: false; error: string; attempts: number };

export interface AuditCounts {
  error: number;
  warning: number;
  info: number;
}

export interface AuditReport {
  schemaVersion: 1;
  kind: 'mesh-verify/audit';
  /** `namespaces`: what was asked (-n, or 'all'); `namespacesAudited`: the namespaces whose pods were read. */
  target: { context: string | null; server: string | null; simulated: boolean; namespaces: string[] | 'all'; namespacesAudited: string[] };
  options: { minCertDays: number; targetVersion: string | null };
  controlPlane: { revisions: { revision: string; version: string | null; name: string }[]; roots: number };
  proxies: { total: number; read: number; unreadable: number };
  pods: number;
  findings: Finding[];
  counts: AuditCounts;
  /** 0 no error-level finding; 1 error findings; 3 nothing worse than unreadable proxies. */
  exitCode: 0 | 1 | 3;
  generatedAt: string;
  durationMs: number;
}
