import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRootCa, issueCertificate } from '../pki/ca.js';
import { pinnedVersions } from '../topology/versions.js';

/**
 * The lab's stand-in for istiod's sidecar injector (istiod cannot be built here: issue 11). A real
 * admission webhook: the real kube-apiserver calls it through a MutatingWebhookConfiguration shaped
 * like Istio's `istio-sidecar-injector` (namespaceSelector istio-injection=enabled, objectSelector
 * sidecar.istio.io/inject != false) for every Pod CREATE, and applies the JSON patch it answers.
 * What it adds follows Istio 1.30.3's injection template (manifests/charts/istio-control/
 * istio-discovery/files/injection-template.yaml) in the parts a reader of the pod relies on: the
 * istio-proxy container (a native sidecar: an init container with restartPolicy Always, as Istio's
 * ENABLE_NATIVE_SIDECARS=auto does on Kubernetes >= 1.33), istio-init, the volumes, the
 * sidecar.istio.io/status annotation and the tlsMode / canonical labels. Like Istio's
 * injectRequired (pkg/kube/inject/webhook.go), a pod annotated sidecar.istio.io/inject: "false",
 * or on the host network, is left alone.
 * Delete this module whole when istiod runs in the lab.
 */
export interface LabInjector {
  /** The MutatingWebhookConfiguration that points the apiserver at this server. */
  webhookConfiguration: Record<string, unknown>;
  /** Pods this injector patched (namespace/generateName or name). */
  injected: string[];
  close(): Promise<void>;
}

type Json = Record<string, any>;
const proxyImage = () => `docker.io/istio/proxyv2:${pinnedVersions().istio}`;

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });

/** Istio's injectRequired for what the lab meets: host network and the inject annotation. */
export function injectionRequired(pod: Json): boolean {
  if (pod.spec?.hostNetwork === true) return false;
  const annotation = pod.metadata?.annotations?.['sidecar.istio.io/inject'];
  if (typeof annotation === 'string' && ['false', 'no', 'n', 'off'].includes(annotation.toLowerCase())) return false;
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])] as { name?: string }[];
  return !all.some((c) => c.name === 'istio-proxy');
}

/** The JSON patch (RFC 6902) that injects `pod` in `namespace`; [] when no injection is required. */
export function injectionPatch(pod: Json, namespace: string, opts: { native: boolean }): Json[] {
  if (!injectionRequired(pod)) return [];
  const app = pod.metadata?.labels?.app ?? pod.metadata?.generateName?.replace(/-[a-z0-9]+-$/, '') ?? 'unknown';
  const appContainers = ((pod.spec?.containers ?? []) as { name: string }[]).map((c) => c.name);
  const mounts = [
    { name: 'workload-socket', mountPath: '/var/run/secrets/workload-spiffe-uds' },
    { name: 'credential-socket', mountPath: '/var/run/secrets/credential-uds' },
    { name: 'workload-certs', mountPath: '/var/run/secrets/workload-spiffe-credentials' },
    { name: 'istiod-ca-cert', mountPath: '/var/run/secrets/istio' },
    { name: 'istio-data', mountPath: '/var/lib/istio/data' },
    { name: 'istio-envoy', mountPath: '/etc/istio/proxy' },
    { name: 'istio-token', mountPath: '/var/run/secrets/tokens' },
    { name: 'istio-podinfo', mountPath: '/etc/istio/pod' },
  ];
  const proxy: Json = {
    name: 'istio-proxy', image: proxyImage(),
    ...(opts.native ? { restartPolicy: 'Always' } : {}),
    args: ['proxy', 'sidecar', '--domain', `${namespace}.svc.cluster.local`, '--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error', '--log_output_level=default:info'],
    ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
    env: [
      { name: 'PILOT_CERT_PROVIDER', value: 'istiod' },
      { name: 'CA_ADDR', value: 'istiod.istio-system.svc:15012' },
      fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('INSTANCE_IP', 'status.podIP'), fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'), fieldEnv('HOST_IP', 'status.hostIP'),
      { name: 'ISTIO_CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '0' } } },
      { name: 'PROXY_CONFIG', value: '{}\n' },
      { name: 'ISTIO_META_POD_PORTS', value: '[]' },
      { name: 'ISTIO_META_APP_CONTAINERS', value: appContainers.join(',') },
      { name: 'ISTIO_META_CLUSTER_ID', value: 'Kubernetes' },
      { name: 'ISTIO_META_NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
      { name: 'ISTIO_META_INTERCEPTION_MODE', value: 'REDIRECT' },
      { name: 'ISTIO_META_WORKLOAD_NAME', value: app },
      { name: 'ISTIO_META_OWNER', value: `kubernetes://apis/apps/v1/namespaces/${namespace}/deployments/${app}` },
      { name: 'ISTIO_META_MESH_ID', value: 'cluster.local' },
      { name: 'TRUST_DOMAIN', value: 'cluster.local' },
    ],
    readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021, scheme: 'HTTP' }, failureThreshold: 4, periodSeconds: 15, timeoutSeconds: 3 },
    startupProbe: { httpGet: { path: '/healthz/ready', port: 15021, scheme: 'HTTP' }, failureThreshold: 600, periodSeconds: 1, timeoutSeconds: 3 },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true, runAsGroup: 1337, runAsNonRoot: true, runAsUser: 1337 },
    volumeMounts: mounts,
  };
  const init: Json = {
    name: 'istio-init', image: proxyImage(),
    args: ['istio-iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020', '--log_output_level=default:info'],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: false, runAsGroup: 0, runAsNonRoot: false, runAsUser: 0 },
  };
  const volumes: Json[] = [
    { name: 'workload-socket', emptyDir: {} }, { name: 'credential-socket', emptyDir: {} }, { name: 'workload-certs', emptyDir: {} },
    { name: 'istio-envoy', emptyDir: { medium: 'Memory' } }, { name: 'istio-data', emptyDir: {} },
    { name: 'istio-podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } }] } },
    { name: 'istio-token', projected: { sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }] } },
    { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
  ];
  const status = {
    initContainers: opts.native ? ['istio-init', 'istio-proxy'] : ['istio-init'],
    containers: opts.native ? null : ['istio-proxy'],
    volumes: volumes.map((v) => v.name), imagePullSecrets: null, revision: 'default',
  };
  const labels = {
    'security.istio.io/tlsMode': 'istio',
    'service.istio.io/canonical-name': pod.metadata?.labels?.['service.istio.io/canonical-name'] ?? app,
    'service.istio.io/canonical-revision': pod.metadata?.labels?.['service.istio.io/canonical-revision'] ?? 'latest',
  };
  const annotations = {
    'sidecar.istio.io/status': JSON.stringify(status),
    'kubectl.kubernetes.io/default-container': appContainers[0] ?? 'istio-proxy',
    'kubectl.kubernetes.io/default-logs-container': appContainers[0] ?? 'istio-proxy',
    'istio.io/rev': 'default',
    'prometheus.io/port': '15020', 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/stats/prometheus',
  };
  const esc = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
  const ops: Json[] = [];
  const mapOps = (field: 'labels' | 'annotations', values: Record<string, string>) => {
    if (!pod.metadata?.[field]) ops.push({ op: 'add', path: `/metadata/${field}`, value: values });
    else for (const [k, v] of Object.entries(values)) ops.push({ op: 'add', path: `/metadata/${field}/${esc(k)}`, value: v });
  };
  mapOps('labels', labels);
  mapOps('annotations', annotations);
  const newInit = opts.native ? [init, proxy] : [init];
  if (!pod.spec?.initContainers) ops.push({ op: 'add', path: '/spec/initContainers', value: newInit });
  else for (const c of newInit) ops.push({ op: 'add', path: '/spec/initContainers/-', value: c });
  if (!opts.native) ops.push({ op: 'add', path: '/spec/containers/-', value: proxy });
  if (!pod.spec?.volumes) ops.push({ op: 'add', path: '/spec/volumes', value: volumes });
  else for (const v of volumes) ops.push({ op: 'add', path: '/spec/volumes/-', value: v });
  return ops;
}

/** Start the webhook server on `host` (a port of its own) with a certificate of its own CA. */
export async function startInjector(host: string, opts: { native: boolean; log?: (line: string) => void }): Promise<LabInjector> {
  const ca = await createRootCa('mesh-verify lab sidecar injector CA');
  const serving = await issueCertificate(ca, { commonName: 'istiod.istio-system.svc', ipSans: [host], dnsSans: ['istiod.istio-system.svc'], clientAuth: false });
  const injected: string[] = [];
  const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let review: Json;
      try { review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json; } catch {
        res.writeHead(400).end('not an AdmissionReview');
        return;
      }
      const request = review.request ?? {};
      const pod = request.object ?? {};
      const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
      const patch = injectionPatch(pod, namespace, opts);
      if (patch.length > 0) {
        const name = `${namespace}/${pod.metadata?.name ?? pod.metadata?.generateName ?? '?'}`;
        injected.push(name);
        opts.log?.(`lab injector: injected ${name}`);
      }
      const response: Json = { uid: request.uid, allowed: true };
      if (patch.length > 0) Object.assign(response, { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, () => resolve()); });
  const port = (server.address() as AddressInfo).port;
  const webhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'istio-sidecar-injector', labels: { app: 'sidecar-injector', 'istio.io/rev': 'default' } },
    webhooks: [{
      name: 'namespace.sidecar-injector.istio.io',
      clientConfig: { url: `https://${host}:${port}/inject`, caBundle: Buffer.from(ca.certPem).toString('base64') },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
      objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }] },
      sideEffects: 'None', admissionReviewVersions: ['v1'], failurePolicy: 'Fail', reinvocationPolicy: 'Never', timeoutSeconds: 10,
    }],
  };
  return {
    webhookConfiguration,
    injected,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
