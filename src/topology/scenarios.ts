import type { KubernetesObject } from '@kubernetes/client-node';
import { readFixture } from './fixture-files.js';
import { parseYamlObjects } from './yaml-objects.js';

/**
 * Broken variants of the reference topology (`mesh-verify path --scenario NAME`). Each one must be
 * detected on the segment it names; `--expect contradicted` turns that detection into success.
 */
export const SCENARIO_NAMES = ['dr-disable', 'permissive-svc', 'no-sidecar-svc'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

/** Label of the workload that calls svc without a sidecar (permissive-svc). */
export const LABEL_ROLE = 'mesh-verify.io/role';
export const PLAINTEXT_CALLER_ROLE = 'plaintext-caller';

export interface ScenarioSpec {
  name: ScenarioName;
  /** What the overlay changes, in one line (shown in progress and reports). */
  description: string;
  /** The path segment where the run must find a contradiction. */
  contradicts: string;
  /** The overlay: returns new objects (the input is not changed). */
  overlay(objects: readonly KubernetesObject[], substitute: (yamlText: string) => string): KubernetesObject[];
}

interface Typed extends KubernetesObject { spec?: Record<string, any> }

/** A copy of `objects` with one object (by kind and name) changed by `edit`. */
function editOne(objects: readonly KubernetesObject[], kind: string, name: string, edit: (o: Typed) => void): KubernetesObject[] {
  const out = structuredClone(objects) as Typed[];
  const o = out.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`reference topology has no ${kind} ${name}`);
  edit(o);
  return out;
}

export const SCENARIOS: Readonly<Record<ScenarioName, ScenarioSpec>> = {
  'dr-disable': {
    name: 'dr-disable',
    description: 'DestinationRule bff: tls.mode DISABLE (the gateway sends plaintext to bff)',
    contradicts: 'gateway->bff-sidecar',
    overlay: (objects) => editOne(objects, 'DestinationRule', 'bff', (dr) => {
      dr.spec = { ...dr.spec, trafficPolicy: { ...dr.spec?.trafficPolicy, tls: { mode: 'DISABLE' } } };
    }),
  },
  'permissive-svc': {
    name: 'permissive-svc',
    description: 'PeerAuthentication PERMISSIVE on svc, plus a caller without sidecar sending plaintext to svc',
    contradicts: 'bff-sidecar->svc-sidecar',
    overlay(objects, substitute) {
      const extra = parseYamlObjects(substitute(readFixture('topology', 'scenarios', 'permissive-svc.yaml')),
        'fixtures/topology/scenarios/permissive-svc.yaml');
      return [...(structuredClone(objects) as KubernetesObject[]), ...extra];
    },
  },
  'no-sidecar-svc': {
    name: 'no-sidecar-svc',
    description: 'svc runs without a sidecar (pod annotation sidecar.istio.io/inject: "false")',
    contradicts: 'bff-sidecar->svc-sidecar',
    overlay: (objects) => editOne(objects, 'Deployment', 'svc', (d) => {
      const meta = d.spec!.template.metadata ?? (d.spec!.template.metadata = {});
      meta.annotations = { ...meta.annotations, 'sidecar.istio.io/inject': 'false' };
    }),
  },
};
