import type {
  DestinationRuleFacts, DestinationRuleTls, IstiodFacts, NamespaceFacts, PeerAuthMode, PeerAuthenticationFacts, PodFacts, ServiceFacts,
} from '../../analyze/audit/types.js';
import { imageTag } from '../../analyze/audit/istio-version.js';

/**
 * Kubernetes and Istio objects (raw API JSON) reduced to the facts the audit rules read. Pure:
 * no I/O here; the reading is in inventory.ts.
 */
type Obj = {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

const SIDECAR = 'istio-proxy';

export function namespaceFacts(o: Obj): NamespaceFacts {
  const labels = o.metadata?.labels ?? {};
  const rev = labels['istio.io/rev'];
  const injectionLabel = labels['istio-injection'];
  const injected = injectionLabel === 'enabled' || (injectionLabel !== 'disabled' && Boolean(rev));
  return { name: o.metadata?.name ?? '', injected, revision: injected ? rev ?? 'default' : null, dataplaneMode: labels[DATAPLANE_MODE] ?? null };
}

interface ContainerJson { name?: string; args?: string[]; ports?: { containerPort?: number }[]; restartPolicy?: string }

/** Label of namespaces and pods enrolled in ambient mode (istio/api label.IoIstioDataplaneMode). */
export const DATAPLANE_MODE = 'istio.io/dataplane-mode';
/** Annotation istio-cni sets on a pod once ztunnel captures it (istio/api annotation.AmbientRedirection). */
export const AMBIENT_REDIRECTION = 'ambient.istio.io/redirection';

/**
 * The proxy's role, as `pilot-agent proxy <role>` receives it: Istio's sidecar template passes
 * `proxy sidecar`, its gateway template `proxy router` (and ambient waypoints `proxy waypoint`).
 * Upstream: manifests/charts/istio-control/istio-discovery/files/{injection,gateway-injection}-template.yaml.
 */
function proxyRole(proxy: ContainerJson | undefined, annotations: Record<string, string>): string | null {
  const args = proxy?.args ?? [];
  const i = args.indexOf('proxy');
  const role = i >= 0 ? args[i + 1] : undefined;
  if (role && !role.startsWith('-')) return role;
  // Not injected yet (image: auto) or args overridden: the gateway template is asked for by name.
  if ((annotations['inject.istio.io/templates'] ?? '').split(',').map((t) => t.trim()).includes('gateway')) return 'router';
  return null;
}

export function podFacts(o: Obj, problem: string | null): PodFacts {
  const spec = (o.spec ?? {}) as { containers?: ContainerJson[]; initContainers?: ContainerJson[]; serviceAccountName?: string };
  const containers = spec.containers ?? [];
  // Native sidecars (Istio >= 1.27 on Kubernetes >= 1.33 by default): istio-proxy is an init
  // container with restartPolicy Always, and the pod's containers are the app's only.
  const mainProxy = containers.find((c) => c.name === SIDECAR);
  const nativeProxy = mainProxy ? undefined : spec.initContainers?.find((c) => c.name === SIDECAR && c.restartPolicy === 'Always');
  const proxy = mainProxy ?? nativeProxy;
  const labels = o.metadata?.labels ?? {};
  const annotations = o.metadata?.annotations ?? {};
  const gateway = Boolean(proxy) && proxyRole(proxy, annotations) === 'router';
  const ports = containers.filter((c) => c.name !== SIDECAR).flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)).filter((p): p is number => typeof p === 'number');
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    labels,
    annotations,
    serviceAccount: spec.serviceAccountName ?? null,
    ip: typeof o.status?.podIP === 'string' ? o.status.podIP : null,
    hasSidecar: Boolean(proxy),
    gateway,
    nativeSidecar: Boolean(nativeProxy),
    dataplaneMode: labels[DATAPLANE_MODE] ?? null,
    ambientRedirection: annotations[AMBIENT_REDIRECTION] ?? null,
    revision: labels['istio.io/rev'] ?? annotations['istio.io/rev'] ?? statusRevision(annotations['sidecar.istio.io/status']) ?? 'default',
    problem,
    ports: [...new Set(ports)].sort((a, b) => a - b),
  };
}

function statusRevision(status: string | undefined): string | null {
  if (!status) return null;
  try {
    const r = (JSON.parse(status) as { revision?: unknown }).revision;
    return typeof r === 'string' && r ? r : null;
  } catch {
    return null;
  }
}

function paMode(v: unknown): PeerAuthMode | null {
  const m = (v as { mode?: unknown } | undefined)?.mode;
  return m === 'STRICT' || m === 'PERMISSIVE' || m === 'DISABLE' ? m : null;
}

export function peerAuthenticationFacts(o: Obj): PeerAuthenticationFacts {
  const spec = (o.spec ?? {}) as { selector?: { matchLabels?: Record<string, string> }; mtls?: unknown; portLevelMtls?: Record<string, unknown> };
  const labels = spec.selector?.matchLabels;
  const portLevel: Record<number, PeerAuthMode | null> = {};
  for (const [port, v] of Object.entries(spec.portLevelMtls ?? {})) portLevel[Number(port)] = paMode(v);
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    selector: labels && Object.keys(labels).length > 0 ? labels : null,
    mode: paMode(spec.mtls),
    portLevel,
    createdAt: o.metadata?.creationTimestamp ?? null,
  };
}

interface TrafficPolicyJson { tls?: { mode?: string }; portLevelSettings?: { port?: { number?: number }; tls?: { mode?: string } }[] }

function policyTls(tp: TrafficPolicyJson | undefined, where: string): DestinationRuleTls[] {
  if (!tp) return [];
  const out: DestinationRuleTls[] = [];
  if (tp.tls?.mode) out.push({ where, mode: tp.tls.mode });
  for (const pl of tp.portLevelSettings ?? []) {
    if (pl.tls?.mode) out.push({ where: `${where} port ${pl.port?.number ?? '?'}`, mode: pl.tls.mode });
  }
  return out;
}

export function destinationRuleFacts(o: Obj): DestinationRuleFacts {
  const spec = (o.spec ?? {}) as { host?: string; trafficPolicy?: TrafficPolicyJson; subsets?: { name?: string; trafficPolicy?: TrafficPolicyJson }[] };
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    host: spec.host ?? '',
    tls: [
      ...policyTls(spec.trafficPolicy, 'trafficPolicy'),
      ...(spec.subsets ?? []).flatMap((s) => policyTls(s.trafficPolicy, `subset ${s.name ?? '?'}`)),
    ],
  };
}

export function serviceFacts(o: Obj): ServiceFacts {
  const spec = (o.spec ?? {}) as { selector?: Record<string, string>; ports?: { port?: number; targetPort?: number | string; name?: string }[] };
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    selector: spec.selector && Object.keys(spec.selector).length > 0 ? spec.selector : null,
    ports: (spec.ports ?? []).filter((p) => typeof p.port === 'number').map((p) => ({ port: p.port!, targetPort: p.targetPort ?? null, name: p.name ?? null })),
  };
}

export function istiodFacts(o: Obj): IstiodFacts {
  const spec = (o.spec ?? {}) as { replicas?: number; template?: { spec?: { containers?: { name?: string; image?: string }[] } } };
  const containers = spec.template?.spec?.containers ?? [];
  const image = (containers.find((c) => c.name === 'discovery') ?? containers[0])?.image ?? null;
  const labels = o.metadata?.labels ?? {};
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    revision: labels['istio.io/rev'] ?? 'default',
    version: imageTag(image),
    image,
    replicas: spec.replicas ?? 1,
    readyReplicas: typeof o.status?.readyReplicas === 'number' ? o.status.readyReplicas : 0,
  };
}
