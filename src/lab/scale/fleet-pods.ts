import { createHash } from 'node:crypto';
import type { LabPod } from '../types.js';
import { labNativeSidecars } from '../kube-binaries.js';
import { pinnedVersions } from '../../topology/versions.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Deterministic pod-template-hash-like suffix. */
function shortHash(seed: string, len = 10): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const h = createHash('sha256').update(seed).digest();
  return Array.from(h.subarray(0, len), (b) => alphabet[b % alphabet.length]).join('');
}

/**
 * A fleet pod as it is created on the lab's real control plane: the Pod an earlier istiod injected
 * (its containers, istio-proxy as a native sidecar or a container, Istio's labels and
 * annotations, sidecar.istio.io/status), bound to the node (spec.nodeName: no scheduling) and
 * without what the API and the node fill in themselves (uid, creationTimestamp, status: kwok
 * reports it Running and gives it its IP) or an owner (the garbage collector deletes a pod whose
 * owner does not exist).
 */
export function fleetPodManifest(pod: LabPod, nodeName: string): Json {
  const hasProxy = pod.containers.includes('istio-proxy');
  const isGateway = pod.containers.length === 1 && hasProxy;
  const appContainers = pod.containers.filter((c) => c !== 'istio-proxy');
  const declared = Object.keys(pod.ports).map(Number);
  const appPorts = declared.filter((p) => p < 15000).map((containerPort) => ({ containerPort, protocol: 'TCP' }));
  const containers: Json[] = appContainers.map((name) => ({ name, image: pinnedVersions().nodeImage, ports: appPorts }));
  // Native sidecars: Istio's injection template (Istio 1.30.3 manifests/charts/istio-control/
  // istio-discovery/files/injection-template.yaml) puts istio-proxy under initContainers with
  // restartPolicy Always; gateways keep it as their only container. Istio's default
  // (ENABLE_NATIVE_SIDECARS=auto, pkg/kube/inject/webhook.go DetectNativeSidecar) turns them on
  // for nodes of Kubernetes >= 1.33: on unless the plan says otherwise.
  const native = hasProxy && !isGateway && (pod.nativeSidecar ?? labNativeSidecars());
  const initContainers: Json[] = [];
  if (hasProxy) {
    const proxy: Json = {
      name: 'istio-proxy', image: `docker.io/istio/proxyv2:${pinnedVersions().istio}`,
      ...(native ? { restartPolicy: 'Always' } : {}),
      args: ['proxy', isGateway ? 'router' : 'sidecar', '--domain', `${pod.namespace}.svc.cluster.local`, '--proxyLogLevel=warning', '--log_output_level=default:info'],
      ports: [...(isGateway ? appPorts : []), { containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
    };
    if (native) initContainers.push(proxy);
    else containers.push(proxy);
  }
  const labels: Record<string, string> = {
    app: pod.app,
    'pod-template-hash': shortHash(`${pod.namespace}/${pod.app}`),
    ...(hasProxy ? { 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': pod.app, 'service.istio.io/canonical-revision': 'latest' } : {}),
    ...pod.labels,
  };
  const annotations: Record<string, string> = {};
  if (hasProxy && !isGateway) {
    annotations['kubectl.kubernetes.io/default-container'] = appContainers[0] ?? 'istio-proxy';
    annotations['kubectl.kubernetes.io/default-logs-container'] = appContainers[0] ?? 'istio-proxy';
    annotations['sidecar.istio.io/status'] = JSON.stringify({ initContainers: native ? ['istio-init', 'istio-proxy'] : ['istio-init'], containers: native ? null : ['istio-proxy'], volumes: ['workload-socket', 'credential-socket', 'workload-certs', 'istio-envoy', 'istio-data', 'istio-podinfo', 'istio-token', 'istiod-ca-cert'], imagePullSecrets: null, revision: 'default' });
    annotations['istio.io/rev'] = 'default';
    annotations['prometheus.io/port'] = '15020';
    annotations['prometheus.io/scrape'] = 'true';
    annotations['prometheus.io/path'] = '/stats/prometheus';
  }
  const spec = { ...(initContainers.length > 0 ? { initContainers } : {}), containers };
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: pod.name, namespace: pod.namespace, labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: { serviceAccountName: pod.serviceAccount, nodeName, restartPolicy: 'Always', ...spec },
  };
}

/** The ServiceAccounts the fleet's pods run as (the API refuses a pod whose ServiceAccount does not exist). */
export function fleetServiceAccounts(pods: readonly LabPod[]): Json[] {
  const seen = new Map<string, Json>();
  for (const p of pods) {
    const key = `${p.namespace}/${p.serviceAccount}`;
    if (!seen.has(key)) seen.set(key, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: p.serviceAccount, namespace: p.namespace } });
  }
  return [...seen.values()];
}
