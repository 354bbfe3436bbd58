import { createHash } from 'node:crypto';
import type { LabPod } from '../types.js';
import { pinnedVersions } from '../../topology/versions.js';
import type { KubeObject } from './object-store.js';
import { LAB_KUBE_VERSION } from './discovery.js';

/** The lab claims the pinned Istio release and Node image (fixtures/istio/versions.json). */
export const labIstioVersion = (): string => pinnedVersions().istio;
export const LAB_NODE_NAME = 'mesh-verify-lab-control-plane';
export const LAB_NODE_IP = '172.18.0.2';
export const proxyImage = (): string => `docker.io/istio/proxyv2:${labIstioVersion()}`;
export const pilotImage = (): string => `docker.io/istio/pilot:${labIstioVersion()}`;
export const appImage = (): string => pinnedVersions().nodeImage;

/** Whether Istio injects native sidecars on the lab's node (Kubernetes >= 1.33, as kind's default node). */
export function labNativeSidecars(): boolean {
  return Number(LAB_KUBE_VERSION.major) > 1 || Number(LAB_KUBE_VERSION.minor) >= 33;
}

export function stableUid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Deterministic pod-template-hash-like suffix. */
export function shortHash(seed: string, len = 10): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const h = createHash('sha256').update(seed).digest();
  return Array.from(h.subarray(0, len), (b) => alphabet[b % alphabet.length]).join('');
}

interface ContainerSpec { name: string; image: string; ports?: { containerPort: number; name?: string; protocol: string }[]; args?: string[]; restartPolicy?: 'Always' }

function containerStatus(c: ContainerSpec, podUid: string, startedAt: string): Record<string, unknown> {
  return {
    name: c.name, ready: true, started: true, restartCount: 0, image: c.image,
    imageID: `${c.image.split(':')[0]}@sha256:${createHash('sha256').update(c.image).digest('hex')}`,
    containerID: `containerd://${createHash('sha256').update(podUid + c.name).digest('hex')}`,
    state: { running: { startedAt } },
  };
}

/** A running, ready Pod object (phase Running, all containers ready). */
export function runningPod(p: {
  namespace: string; name: string; labels: Record<string, string>; annotations?: Record<string, string>;
  serviceAccount: string; ip: string | null; containers: ContainerSpec[]; owner?: { kind: string; name: string };
  createdAt: string;
  /** Init containers; those with restartPolicy Always (native sidecars) run beside the containers. */
  initContainers?: ContainerSpec[];
}): KubeObject {
  const init = p.initContainers ?? [];
  const uid = stableUid(`pod/${p.namespace}/${p.name}`);
  const ready = { lastProbeTime: null, lastTransitionTime: p.createdAt, status: 'True' };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name, namespace: p.namespace, uid, labels: p.labels, creationTimestamp: p.createdAt,
      ...(p.annotations && Object.keys(p.annotations).length > 0 ? { annotations: p.annotations } : {}),
      ...(p.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: stableUid(`${p.owner.kind}/${p.namespace}/${p.owner.name}`), controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: {
      serviceAccountName: p.serviceAccount, serviceAccount: p.serviceAccount, nodeName: LAB_NODE_NAME,
      restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30,
      ...(init.length > 0 ? { initContainers: init.map((c) => ({ ...c, imagePullPolicy: 'IfNotPresent', resources: {} })) } : {}),
      containers: p.containers.map((c) => ({ ...c, imagePullPolicy: 'IfNotPresent', resources: {} })),
    },
    status: {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, ...ready })),
      hostIP: LAB_NODE_IP, hostIPs: [{ ip: LAB_NODE_IP }],
      ...(p.ip ? { podIP: p.ip, podIPs: [{ ip: p.ip }] } : {}),
      startTime: p.createdAt, qosClass: 'BestEffort',
      // A native sidecar's status is under initContainerStatuses, running and ready (kubelet reports it there).
      ...(init.length > 0 ? { initContainerStatuses: init.map((c) => containerStatus(c, uid, p.createdAt)) } : {}),
      containerStatuses: p.containers.map((c) => containerStatus(c, uid, p.createdAt)),
    },
  };
}

/** The Pod object of a lab proxy (istio-proxy injected like Istio's sidecar injector does). */
export function podFromLabPod(pod: LabPod, createdAt: string): KubeObject {
  const hasProxy = pod.containers.includes('istio-proxy');
  const isGateway = pod.containers.length === 1 && hasProxy;
  const appContainers = pod.containers.filter((c) => c !== 'istio-proxy');
  const declared = Object.keys(pod.ports).map(Number);
  const containers: ContainerSpec[] = appContainers.map((name) => ({
    name, image: appImage(),
    ports: declared.filter((p) => p < 15000).map((containerPort) => ({ containerPort, protocol: 'TCP' })),
  }));
  // Native sidecars: Istio's injection template (Istio 1.30.3 manifests/charts/istio-control/
  // istio-discovery/files/injection-template.yaml) puts istio-proxy under initContainers with
  // restartPolicy Always; gateways keep it as their only container. Istio's default
  // (ENABLE_NATIVE_SIDECARS=auto, pkg/kube/inject/webhook.go DetectNativeSidecar) turns them on
  // for nodes of Kubernetes >= 1.33, which the lab claims to run: on unless the pod says otherwise.
  const native = hasProxy && !isGateway && (pod.nativeSidecar ?? labNativeSidecars());
  const initContainers: ContainerSpec[] = [];
  if (hasProxy) {
    const proxy: ContainerSpec = {
      name: 'istio-proxy', image: proxyImage(),
      ...(native ? { restartPolicy: 'Always' as const } : {}),
      args: ['proxy', isGateway ? 'router' : 'sidecar', '--domain', `${pod.namespace}.svc.cluster.local`, '--proxyLogLevel=warning', '--log_output_level=default:info'],
      ports: [
        ...(isGateway ? declared.filter((p) => p < 15000).map((containerPort) => ({ containerPort, protocol: 'TCP' })) : []),
        { containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' },
      ],
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
  return runningPod({
    namespace: pod.namespace, name: pod.name, labels, annotations, serviceAccount: pod.serviceAccount, ip: pod.ip,
    containers, initContainers, owner: { kind: 'ReplicaSet', name: `${pod.app}-${labels['pod-template-hash']}` }, createdAt,
  });
}
