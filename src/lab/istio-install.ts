import type { KubernetesObject } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  GATEWAY_HTTPS_PORT, GATEWAY_HTTPS_TARGET_PORT, GATEWAY_NAMESPACE, GATEWAY_NODE_PORT, GATEWAY_WORKLOAD, MESH_NAMESPACE,
} from '../topology/reference.js';
import { readFixture } from '../topology/fixture-files.js';
import { pinnedVersions } from '../topology/versions.js';
import type { KubeObject } from './types.js';

/** The lab claims the pinned Istio release (fixtures/istio/versions.json). */
export const labIstioVersion = (): string => pinnedVersions().istio;
const proxyImage = (): string => `docker.io/istio/proxyv2:${labIstioVersion()}`;
const pilotImage = (): string => `docker.io/istio/pilot:${labIstioVersion()}`;

/**
 * The mesh config `istioctl install -f fixtures/istio/istio-operator.yaml` would store in
 * ConfigMap istio-system/istio (its meshConfig plus the installer's defaults). Without ssl stats
 * (fault stats-filtered), proxyStatsMatcher is Istio's default: absent.
 */
export function labMeshConfigYaml(opts: { includeSslStats?: boolean; meshConfig?: Record<string, unknown> } = {}): string {
  const operator = parseYaml(readFixture('istio', 'istio-operator.yaml')) as { spec?: { meshConfig?: Record<string, unknown> } };
  const meshConfig = overlay(structuredClone(operator.spec?.meshConfig ?? {}), opts.meshConfig ?? {});
  const defaultConfig: Record<string, unknown> = { discoveryAddress: 'istiod.istio-system.svc:15012', ...(meshConfig.defaultConfig as Record<string, unknown> | undefined) };
  if (opts.includeSslStats === false) delete defaultConfig.proxyStatsMatcher;
  return stringifyYaml({ ...meshConfig, defaultConfig, rootNamespace: 'istio-system', trustDomain: 'cluster.local' });
}

/**
 * `extra` over `base` as an IstioOperator overlay merges a second file (istioctl install -f a -f b):
 * maps key by key, anything else (lists, scalars) replaced.
 */
function overlay(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  for (const [k, v] of Object.entries(extra)) base[k] = isMap(v) && isMap(base[k]) ? overlay(base[k], v) : structuredClone(v);
  return base;
}

/** ConfigMap istio-system/istio: the mesh config istiod reads (`meshConfig`: the lab's overlay, `path --lab --mesh-config`). */
export function meshConfigMap(opts: { includeSslStats?: boolean; meshConfig?: Record<string, unknown> } = {}): KubeObject {
  const rev = { 'istio.io/rev': 'default', 'install.operator.istio.io/owning-resource': 'installed-state', 'operator.istio.io/component': 'Pilot' };
  return {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: GATEWAY_NAMESPACE, labels: { app: 'istiod', ...rev } },
    data: { mesh: labMeshConfigYaml(opts), meshNetworks: 'networks: {}' },
  } as KubeObject;
}

/**
 * `nlb`: where the lab's NLB listens. The gateway Service publishes it in the annotation
 * mesh-verify.io/entry (src/cluster/entry.ts), so `path --kubeconfig <lab>` finds it as it finds
 * a cluster's load balancer.
 *
 * `istioctl install` (default profile): istiod, the ingress gateway, the root cert ConfigMaps.
 */
export function istioInstallObjects(meshRootPem: string, namespaces: string[], opts: { includeSslStats?: boolean; nlb?: { host: string; port: number }; meshConfig?: Record<string, unknown> } = {}): KubeObject[] {
  const rev = { 'istio.io/rev': 'default', 'install.operator.istio.io/owning-resource': 'installed-state', 'operator.istio.io/component': 'Pilot' };
  const gwLabels = { app: 'istio-ingressgateway', istio: 'ingressgateway' };
  const gwSa = GATEWAY_WORKLOAD.serviceAccount;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: GATEWAY_NAMESPACE } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'istiod', namespace: GATEWAY_NAMESPACE, labels: { app: 'istiod', ...rev } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: gwSa, namespace: GATEWAY_NAMESPACE, labels: gwLabels } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'istiod', namespace: GATEWAY_NAMESPACE, labels: { app: 'istiod', istio: 'pilot', ...rev } },
      spec: {
        replicas: 1, selector: { matchLabels: { istio: 'pilot' } },
        template: {
          metadata: { labels: { app: 'istiod', istio: 'pilot', 'istio.io/rev': 'default', 'sidecar.istio.io/inject': 'false' } },
          spec: { serviceAccountName: 'istiod', containers: [{ name: 'discovery', image: pilotImage(), args: ['discovery', '--monitoringAddr=:15014', '--log_output_level=default:info', '--domain', 'cluster.local', '--keepaliveMaxServerConnectionAge', '30m'], ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 15010, protocol: 'TCP' }, { containerPort: 15017, protocol: 'TCP' }] }] },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'istiod', namespace: GATEWAY_NAMESPACE, labels: { app: 'istiod', istio: 'pilot', ...rev } },
      spec: { selector: { app: 'istiod', istio: 'pilot' }, ports: [
        { name: 'grpc-xds', port: 15010, protocol: 'TCP', targetPort: 15010 }, { name: 'https-dns', port: 15012, protocol: 'TCP', targetPort: 15012 },
        { name: 'https-webhook', port: 443, protocol: 'TCP', targetPort: 15017 }, { name: 'http-monitoring', port: 15014, protocol: 'TCP', targetPort: 15014 }] },
    },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: GATEWAY_WORKLOAD.name, namespace: GATEWAY_NAMESPACE, labels: { ...gwLabels, 'istio.io/rev': 'default' } },
      spec: {
        replicas: 1, selector: { matchLabels: gwLabels },
        template: {
          metadata: { labels: { ...gwLabels, 'sidecar.istio.io/inject': 'false', 'service.istio.io/canonical-name': 'istio-ingressgateway' } },
          spec: { serviceAccountName: gwSa, containers: [{ name: 'istio-proxy', image: proxyImage(), args: ['proxy', 'router', '--domain', `${GATEWAY_NAMESPACE}.svc.cluster.local`], ports: [{ containerPort: 15021, protocol: 'TCP' }, { containerPort: 8080, protocol: 'TCP' }, { containerPort: GATEWAY_HTTPS_TARGET_PORT, protocol: 'TCP' }, { containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }] }] },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: {
        name: GATEWAY_WORKLOAD.name, namespace: GATEWAY_NAMESPACE, labels: { ...gwLabels, 'istio.io/rev': 'default' },
        ...(opts.nlb ? { annotations: { 'mesh-verify.io/entry': `${opts.nlb.host}:${opts.nlb.port}` } } : {}),
      },
      spec: { type: 'NodePort', selector: gwLabels, ports: [
        { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021, nodePort: 31021 },
        { name: 'https', port: GATEWAY_HTTPS_PORT, protocol: 'TCP', targetPort: GATEWAY_HTTPS_TARGET_PORT, nodePort: GATEWAY_NODE_PORT }] },
    },
    ...[...new Set([GATEWAY_NAMESPACE, ...namespaces])].map((namespace): KubeObject => ({
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-ca-root-cert', namespace, labels: { 'istio.io/config': 'true' } }, data: { 'root-cert.pem': meshRootPem },
    })),
    meshConfigMap(opts),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-version', namespace: GATEWAY_NAMESPACE }, data: { version: labIstioVersion() } },
  ];
}

/** Objects of the reference topology, each with its namespace. */
export function asKubeObjects(objects: KubernetesObject[]): KubeObject[] {
  return objects.map((o) => ({ ...(o as unknown as KubeObject), metadata: { ...(o.metadata as KubeObject['metadata']), namespace: o.metadata?.namespace ?? (o.kind === 'Namespace' ? undefined : MESH_NAMESPACE) } }));
}
