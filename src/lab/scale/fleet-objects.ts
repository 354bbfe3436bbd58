import type { KubernetesObject } from '@kubernetes/client-node';
import { FLEET_CANARY_REVISION, FLEET_CANARY_VERSION, FLEET_ISTIO_VERSION, FLEET_ROOT_NAMESPACE, type FleetPlan } from './plan.js';
import type { KubeObject } from '../types.js';

const CREATED = '2025-01-01T00:00:00Z';

function meta(name: string, namespace?: string, labels?: Record<string, string>, extra: Record<string, unknown> = {}) {
  return { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}), creationTimestamp: CREATED, ...extra };
}

/**
 * The fleet's API objects (everything but the pods): namespaces with injection labels,
 * PeerAuthentications (mesh, namespace, workload with port levels), DestinationRules, Services,
 * the istiod Deployments (default and a canary revision) and the mesh root ConfigMap.
 */
export function fleetObjects(plan: FleetPlan, rootPem: string): KubernetesObject[] {
  const out: KubernetesObject[] = [];
  for (const ns of plan.namespaces) {
    const labels: Record<string, string> = { 'kubernetes.io/metadata.name': ns.name };
    if (ns.injected) {
      if (ns.revision) labels['istio.io/rev'] = ns.revision;
      else labels['istio-injection'] = 'enabled';
    }
    if (ns.dataplaneMode) labels['istio.io/dataplane-mode'] = ns.dataplaneMode;
    out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: meta(ns.name, undefined, labels) } as unknown as KubernetesObject);
  }
  const pa = (namespace: string, name: string, spec: Record<string, unknown>, created = CREATED) => ({
    apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { ...meta(name, namespace), creationTimestamp: created }, spec,
  }) as unknown as KubernetesObject;
  out.push(pa(FLEET_ROOT_NAMESPACE, 'default', { mtls: { mode: 'STRICT' } }, '2024-06-01T00:00:00Z'));
  for (const ns of plan.namespaces.filter((n) => n.mode)) out.push(pa(ns.name, 'default', { mtls: { mode: ns.mode } }));
  for (const w of plan.workloadPolicies) {
    out.push(pa(w.namespace, w.name, {
      selector: { matchLabels: { app: w.app } },
      ...(w.mode ? { mtls: { mode: w.mode } } : {}),
      ...(Object.keys(w.portLevel).length > 0 ? { portLevelMtls: Object.fromEntries(Object.entries(w.portLevel).map(([p, mode]) => [p, { mode }])) } : {}),
    }));
  }
  for (const dr of plan.destinationRules) {
    out.push({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(dr.name, dr.namespace), spec: { host: dr.host, trafficPolicy: { tls: { mode: dr.mode } } } } as unknown as KubernetesObject);
  }
  for (const s of plan.services) {
    out.push({
      apiVersion: 'v1', kind: 'Service', metadata: meta(s.app, s.namespace, { app: s.app }),
      spec: { selector: { app: s.app }, type: 'ClusterIP', ports: s.ports.map((port) => ({ name: port === 9090 ? 'grpc-metrics' : 'http', port, targetPort: port, protocol: 'TCP' })) },
    } as unknown as KubernetesObject);
  }
  const istiod = (name: string, revision: string, version: string) => ({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: meta(name, FLEET_ROOT_NAMESPACE, { app: 'istiod', istio: 'pilot', 'istio.io/rev': revision, 'operator.istio.io/component': 'Pilot' }),
    spec: {
      replicas: 1, selector: { matchLabels: { app: 'istiod', 'istio.io/rev': revision } },
      template: { metadata: { labels: { app: 'istiod', 'istio.io/rev': revision } }, spec: { containers: [{ name: 'discovery', image: `docker.io/istio/pilot:${version}` }] } },
    },
    status: { replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 },
  }) as unknown as KubernetesObject;
  out.push(istiod('istiod', 'default', FLEET_ISTIO_VERSION));
  if (plan.namespaces.some((n) => n.revision === FLEET_CANARY_REVISION)) out.push(istiod(`istiod-${FLEET_CANARY_REVISION}`, FLEET_CANARY_REVISION, FLEET_CANARY_VERSION));
  for (const ns of plan.namespaces) {
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('istio-ca-root-cert', ns.name, { 'istio.io/config': 'true' }), data: { 'root-cert.pem': rootPem } } as unknown as KubernetesObject);
  }
  return out;
}

const ROOT_CONFIGMAP = 'istio-ca-root-cert';

/**
 * The reference install plus the scale fleet, merged deliberately (one object per name):
 * - istiod and the mesh-wide PeerAuthentication come from the fleet (its control plane is the
 *   Istio release every lab proxy reports; the fleet's mesh-wide STRICT is the reference's intent);
 * - every istio-ca-root-cert ConfigMap holds both roots, the fleet's and the reference data
 *   plane's, as a trust bundle does during a root migration: both sets of workloads chain to a
 *   current root, while the fleet's planted stale-root proxies still do not.
 */
export function mergeFleetObjects(reference: KubeObject[], fleetObjects: KubeObject[], referenceRootPem: string): KubeObject[] {
  const keyOf = (o: KubeObject) => `${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;
  const fleetRoot = fleetObjects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ROOT_CONFIGMAP) as { data?: Record<string, string> } | undefined;
  const bundle = [fleetRoot?.data?.['root-cert.pem'] ?? '', referenceRootPem].map((p) => p.trim()).filter(Boolean).join('\n') + '\n';
  const byKey = new Map<string, KubeObject>();
  for (const o of [...reference, ...fleetObjects]) {
    const k = keyOf(o);
    const prev = byKey.get(k);
    if (prev && o.kind === 'Namespace') {
      // Both sides' labels (injection) and nothing lost.
      byKey.set(k, { ...prev, metadata: { ...prev.metadata, labels: { ...(prev.metadata.labels ?? {}), ...(o.metadata.labels ?? {}) } } });
      continue;
    }
    byKey.set(k, o);
  }
  for (const [k, o] of byKey) {
    if (o.kind === 'ConfigMap' && o.metadata.name === ROOT_CONFIGMAP) byKey.set(k, { ...o, data: { 'root-cert.pem': bundle } });
  }
  return [...byKey.values()];
}

