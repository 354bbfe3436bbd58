import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KubernetesObject } from '@kubernetes/client-node';
import { appSourcePath } from './app-source.js';
import { readFixture } from './fixture-files.js';
import { withManagedLabels } from './managed-labels.js';
import { MESH_NAMESPACE, type IngressGateway } from './reference.js';
import { SCENARIOS, type ScenarioName } from './scenarios.js';
import { pinnedVersions } from './versions.js';
import { parseYamlObjects } from './yaml-objects.js';

/** The YAML files of the reference topology, in apply order (fixtures/topology/). */
export const TOPOLOGY_FILES = ['namespace.yaml', 'workloads.yaml', 'gateway.yaml', 'mesh-policy.yaml'] as const;
/** ConfigMap holding fixtures/topology/app/app.mjs, mounted at /app in bff and svc. */
export const APP_CONFIGMAP = 'mesh-verify-app';
/** Pod-template annotation carrying the app's hash: a changed app rolls the pods. */
export const APP_HASH_ANNOTATION = 'mesh-verify.io/app-sha256';

export interface BuildTopologyOptions {
  runId: string;
  scenario?: ScenarioName | null;
  /** The gateway TLS Secret (createGatewayCredential().secret). */
  gatewayCredential: KubernetesObject;
  /** Override the app image (default: nodeImage in fixtures/istio/versions.json). */
  nodeImage?: string;
  /** The ingress gateway found from its Service: the Gateway object selects its pods. */
  gateway?: IngressGateway;
}

/** Replace ${NODE_IMAGE} (the only placeholder in fixtures/topology/*.yaml). */
export function substitutePlaceholders(text: string, vars: { NODE_IMAGE: string }): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => {
    if (name in vars) return vars[name as keyof typeof vars];
    throw new Error(`unknown placeholder ${whole} in fixtures/topology`);
  });
}

export function appConfigMap(appSource: string): KubernetesObject & { data: Record<string, string> } {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: APP_CONFIGMAP, namespace: MESH_NAMESPACE },
    data: { 'app.mjs': appSource },
  };
}

/**
 * The reference topology as Kubernetes objects: namespace (sidecar injection), service accounts,
 * the app ConfigMap, Deployments and Services for bff and svc, Gateway, VirtualService,
 * DestinationRule, PeerAuthentication, the gateway credential; with a scenario's overlay; every
 * object labelled managed-by mesh-verify and with the run id.
 */
export function buildTopology(opts: BuildTopologyOptions): KubernetesObject[] {
  const substitute = (t: string) => substitutePlaceholders(t, { NODE_IMAGE: opts.nodeImage ?? pinnedVersions().nodeImage });
  const appSource = readFileSync(appSourcePath(), 'utf8');
  const appHash = createHash('sha256').update(appSource).digest('hex');
  let objects: KubernetesObject[] = [];
  for (const file of TOPOLOGY_FILES) {
    objects.push(...parseYamlObjects(substitute(readFixture('topology', file)), `fixtures/topology/${file}`));
  }
  // The ConfigMap goes right after the namespace and service accounts (applyObjects orders by kind too).
  objects.splice(1, 0, appConfigMap(appSource));
  for (const o of objects) {
    const tmpl = (o as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }).spec?.template;
    if (o.kind === 'Deployment' && tmpl) {
      tmpl.metadata = { ...tmpl.metadata, annotations: { ...tmpl.metadata?.annotations, [APP_HASH_ANNOTATION]: appHash } };
    }
  }
  if (opts.gateway) {
    const podLabels = opts.gateway.podLabels;
    for (const o of objects) {
      if (o.kind === 'Gateway' && o.apiVersion?.startsWith('networking.istio.io/')) (o as { spec: { selector?: Record<string, string> } }).spec.selector = { ...podLabels };
    }
  }
  objects.push(structuredClone(opts.gatewayCredential));
  if (opts.scenario) objects = SCENARIOS[opts.scenario].overlay(objects, substitute);
  return objects.map((o) => withManagedLabels(o, opts.runId));
}
