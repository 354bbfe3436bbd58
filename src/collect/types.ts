import type { ProxyCapture } from '../bundle/types.js';

/**
 * What collect needs of a connection to one proxy's admin port (15000). src/cluster's
 * AdminTransport (port-forward or `pilot-agent request` via exec) has this shape; tests use a
 * fake or a local HTTP server.
 */
export interface AdminGetter {
  via: ProxyCapture['via'];
  get(path: string, opts: { timeoutMs: number }): Promise<{ status: number; body: string }>;
  close(): Promise<void> | void;
}

/** A proxy of the path to collect from. */
export interface ProxyTarget {
  /** ProxyCapture.id: 'gateway', 'bff', 'svc'. */
  id: string;
  role: 'gateway' | 'sidecar';
  namespace: string;
  /** Label selector of the workload's pods, e.g. 'app=bff'. */
  selector: string;
  expectedIdentity: string | null;
}

/** The pod chosen for a target. */
export interface FoundPod {
  namespace: string;
  name: string;
  ip: string | null;
  containers: string[];
}

/** The side effects collect uses; src/path wires them to src/cluster. */
export interface CollectDeps {
  /** The running pod of the target, or null when none matches. */
  findPod(target: ProxyTarget): Promise<FoundPod | null>;
  openAdmin(pod: FoundPod): Promise<AdminGetter>;
  /** A container's log since `sinceSeconds` ago, as text. */
  readLog(pod: FoundPod, container: string, sinceSeconds: number): Promise<string>;
}

/** The sidecar / gateway container that runs Envoy. */
export const PROXY_CONTAINER = 'istio-proxy';
