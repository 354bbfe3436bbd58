import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import { buildTopology, APP_CONFIGMAP, APP_HASH_ANNOTATION } from '../../src/topology/manifests.js';
import { SCENARIOS, SCENARIO_NAMES, isScenarioName, LABEL_ROLE, PLAINTEXT_CALLER_ROLE } from '../../src/topology/scenarios.js';
import { createGatewayCredential } from '../../src/topology/credentials.js';
import { appSourcePath } from '../../src/topology/app-source.js';
import { pinnedVersions } from '../../src/topology/versions.js';
import { LABEL_RUN } from '../../src/topology/managed-labels.js';
import {
  APP_PORT, BFF_WORKLOAD, GATEWAY_CREDENTIAL, GATEWAY_NAMESPACE, LABEL_MANAGED_BY, MESH_NAMESPACE, PUBLIC_HOST, SVC_WORKLOAD,
  serviceFqdn,
} from '../../src/topology/reference.js';
import { validateAgainstSchema } from './schema-models.js';

const credential = await createGatewayCredential();
const build = (scenario: (typeof SCENARIO_NAMES)[number] | null = null) =>
  buildTopology({ runId: 'run-1', scenario, gatewayCredential: credential.secret }) as any[];
const get = (objs: any[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);

/** Every leaf path that differs between two JSON values ("a.b[0].c"). */
function diffPaths(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffPaths((a as any)[k], (b as any)[k], Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k));
  }
  return [path];
}
const key = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

describe('buildTopology (healthy)', () => {
  const objs = build();

  it('validates every object against the Kubernetes and Istio schemas', () => {
    expect(objs.length).toBeGreaterThanOrEqual(12);
    for (const o of objs) expect(() => validateAgainstSchema(o), key(o)).not.toThrow();
  });

  it('the schema check itself rejects a broken object', () => {
    const gw = structuredClone(get(objs, 'Gateway', 'mesh-verify-gateway'));
    gw.spec.servers[0].tls.mode = 'SIMPLEST';
    expect(() => validateAgainstSchema(gw)).toThrow(/tls\/mode/);
  });

  it('holds the reference path: namespace with injection, service accounts, services on the app port', () => {
    expect(get(objs, 'Namespace', MESH_NAMESPACE).metadata.labels['istio-injection']).toBe('enabled');
    for (const w of [BFF_WORKLOAD, SVC_WORKLOAD]) {
      expect(get(objs, 'ServiceAccount', w.serviceAccount).metadata.namespace).toBe(w.namespace);
      const svc = get(objs, 'Service', w.name);
      expect(svc.spec.ports).toEqual([expect.objectContaining({ port: APP_PORT, targetPort: APP_PORT })]);
      const dep = get(objs, 'Deployment', w.name);
      expect(dep.spec.template.spec.serviceAccountName).toBe(w.serviceAccount);
      expect(svc.spec.selector).toEqual(dep.spec.selector.matchLabels);
      const c = dep.spec.template.spec.containers[0];
      expect(c.image).toBe(pinnedVersions().nodeImage);
      expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port: APP_PORT });
      expect(c.env).toContainEqual({ name: 'ROLE', value: w.id });
    }
    const bffEnv = get(objs, 'Deployment', 'bff').spec.template.spec.containers[0].env;
    expect(bffEnv).toContainEqual({ name: 'UPSTREAM_URL', value: `http://${serviceFqdn('svc', MESH_NAMESPACE)}:${APP_PORT}` });
  });

  it('ships the app from a ConfigMap generated from app.mjs, with its hash on the pod templates', () => {
    const cm = get(objs, 'ConfigMap', APP_CONFIGMAP);
    expect(cm.data['app.mjs']).toBe(readFileSync(appSourcePath(), 'utf8'));
    for (const name of ['bff', 'svc']) {
      const tmpl = get(objs, 'Deployment', name).spec.template;
      expect(tmpl.metadata.annotations[APP_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
      expect(tmpl.spec.volumes[0].configMap.name).toBe(APP_CONFIGMAP);
    }
  });

  it('terminates external TLS at the gateway with the generated credential and routes to bff', () => {
    const gw = get(objs, 'Gateway', 'mesh-verify-gateway');
    expect(gw.spec.servers[0]).toMatchObject({ port: { number: 443, protocol: 'HTTPS' }, hosts: [PUBLIC_HOST], tls: { mode: 'SIMPLE', credentialName: GATEWAY_CREDENTIAL } });
    const vs = get(objs, 'VirtualService', 'bff');
    expect(vs.spec.hosts).toEqual([PUBLIC_HOST]);
    expect(vs.spec.gateways).toEqual([`${MESH_NAMESPACE}/mesh-verify-gateway`]);
    expect(vs.spec.http[0].route[0].destination).toEqual({ host: serviceFqdn('bff', MESH_NAMESPACE), port: { number: APP_PORT } });
    const secret = get(objs, 'Secret', GATEWAY_CREDENTIAL);
    expect(secret.metadata.namespace).toBe(GATEWAY_NAMESPACE);
    expect(secret.type).toBe('kubernetes.io/tls');
  });

  it('asks for mTLS to bff and STRICT inbound', () => {
    expect(get(objs, 'DestinationRule', 'bff').spec).toEqual({ host: serviceFqdn('bff', MESH_NAMESPACE), trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } });
    expect(get(objs, 'PeerAuthentication', 'default').spec).toEqual({ mtls: { mode: 'STRICT' } });
  });

  it('labels every object for cleanup, but never the pod templates with the run id (no rollout per run)', () => {
    for (const o of objs) {
      expect(o.metadata.labels[LABEL_MANAGED_BY], key(o)).toBe('mesh-verify');
      expect(o.metadata.labels[LABEL_RUN], key(o)).toBe('run-1');
      if (o.kind === 'Deployment') expect(o.spec.template.metadata.labels[LABEL_RUN]).toBeUndefined();
    }
    const again = buildTopology({ runId: 'run-2', gatewayCredential: credential.secret }) as any[];
    expect(get(again, 'Deployment', 'bff').spec.template).toEqual(get(objs, 'Deployment', 'bff').spec.template);
  });

  it('does not change the credential object it was given', () => {
    expect(credential.secret.metadata?.labels).toBeUndefined();
  });
});

describe('scenario overlays change exactly what they say', () => {
  const healthy = new Map(build().map((o) => [key(o), o]));

  function changes(name: (typeof SCENARIO_NAMES)[number]) {
    const objs = build(name);
    const after = new Map(objs.map((o) => [key(o), o]));
    const added = [...after.keys()].filter((k) => !healthy.has(k));
    const removed = [...healthy.keys()].filter((k) => !after.has(k));
    const changed = [...after.keys()].filter((k) => healthy.has(k))
      .flatMap((k) => diffPaths(healthy.get(k), after.get(k)).map((p) => `${k}: ${p}`));
    return { objs, added, removed, changed };
  }

  it('lists three scenarios, each naming the segment it breaks', () => {
    expect([...SCENARIO_NAMES]).toEqual(['dr-disable', 'permissive-svc', 'no-sidecar-svc']);
    expect(isScenarioName('dr-disable')).toBe(true);
    expect(isScenarioName('nope')).toBe(false);
    expect(SCENARIOS['dr-disable'].contradicts).toBe('gateway->bff-sidecar');
  });

  it('dr-disable: only the DestinationRule to bff, tls.mode DISABLE', () => {
    const c = changes('dr-disable');
    expect(c.added).toEqual([]);
    expect(c.removed).toEqual([]);
    expect(c.changed).toEqual(['DestinationRule/mesh-verify/bff: spec.trafficPolicy.tls.mode']);
    expect(get(c.objs, 'DestinationRule', 'bff').spec.trafficPolicy.tls.mode).toBe('DISABLE');
  });

  it('permissive-svc: adds a PERMISSIVE PeerAuthentication for svc and a sidecar-less plaintext caller', () => {
    const c = changes('permissive-svc');
    expect(c.changed).toEqual([]);
    expect(c.removed).toEqual([]);
    expect(c.added.sort()).toEqual(['Deployment/mesh-verify/plaintext-caller', 'PeerAuthentication/mesh-verify/svc-permissive']);
    const pa = get(c.objs, 'PeerAuthentication', 'svc-permissive');
    expect(pa.spec).toEqual({ selector: { matchLabels: { app: 'svc' } }, mtls: { mode: 'PERMISSIVE' } });
    const caller = get(c.objs, 'Deployment', 'plaintext-caller');
    expect(caller.metadata.labels[LABEL_ROLE]).toBe(PLAINTEXT_CALLER_ROLE);
    expect(caller.spec.template.metadata.annotations['sidecar.istio.io/inject']).toBe('false');
    const cmd = caller.spec.template.spec.containers[0].command.join(' ');
    expect(cmd).toContain(`http://${serviceFqdn('svc', MESH_NAMESPACE)}:${APP_PORT}`);
    expect(caller.spec.template.spec.containers[0].image).toBe(pinnedVersions().nodeImage);
    for (const o of c.objs) expect(() => validateAgainstSchema(o), key(o)).not.toThrow();
  });

  it('no-sidecar-svc: only the svc pod template annotation sidecar.istio.io/inject "false"', () => {
    const c = changes('no-sidecar-svc');
    expect(c.added).toEqual([]);
    expect(c.changed).toEqual(['Deployment/mesh-verify/svc: spec.template.metadata.annotations.sidecar.istio.io/inject']);
    expect(get(c.objs, 'Deployment', 'svc').spec.template.metadata.annotations['sidecar.istio.io/inject']).toBe('false');
  });
});
