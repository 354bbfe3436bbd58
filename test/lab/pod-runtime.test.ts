import { afterEach, describe, expect, it } from 'vitest';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerStartError, containerEnv, containerLaunch, expand, tokenRequests, type ObjectSource } from '../../src/lab/pod-runtime.js';

/** A bff pod as the real kube-apiserver 1.35.4 stored it in the lab (its provenance is in the file). */
const recorded = JSON.parse(readFileSync(new URL('../../fixtures/kube/bff-pod-1.35.4.json', import.meta.url), 'utf8')) as {
  pod: Record<string, any>; configMaps: { metadata: { name: string; namespace: string }; data?: Record<string, string> }[];
};
const source = (extra: Partial<ObjectSource> = {}): ObjectSource => ({
  configMap: (ns, name) => recorded.configMaps.find((c) => c.metadata.namespace === ns && c.metadata.name === name)?.data,
  secret: () => undefined,
  serviceAccountToken: (audience) => `token-for-${audience || 'api'}`,
  ...extra,
});

const dirs: string[] = [];
const newDir = () => { const d = mkdtempSync(join(tmpdir(), 'mv-pod-runtime-')); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('the lab runtime starts a container from its pod spec, as the kubelet would', () => {
  it('runs the recorded bff pod: command from the spec, /app mapped to its ConfigMap volume in the kubelet layout', () => {
    const root = newDir();
    const launch = containerLaunch(recorded.pod, 'bff', source(), root, { node: '/usr/bin/node-of-the-lab' });
    const appDir = launch.mounts['/app']!;
    expect(launch.argv).toEqual(['/usr/bin/node-of-the-lab', join(appDir, 'app.mjs')]);
    // app.mjs -> ..data/app.mjs, ..data -> ..<timestamp>: the layout the app must read through.
    expect(readlinkSync(join(appDir, 'app.mjs'))).toBe(join('..data', 'app.mjs'));
    expect(readlinkSync(join(appDir, '..data'))).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    expect(lstatSync(join(appDir, readlinkSync(join(appDir, '..data')))).isDirectory()).toBe(true);
    const cm = recorded.configMaps.find((c) => c.metadata.name === 'mesh-verify-app')!;
    expect(readFileSync(join(appDir, 'app.mjs'), 'utf8')).toBe(cm.data!['app.mjs']);
    expect(statSync(join(appDir, 'app.mjs')).mode & 0o777).toBe(0o644); // defaultMode 420
  });

  it('takes the env from the spec: values, and POD_NAME from the downward API', () => {
    const launch = containerLaunch(recorded.pod, 'bff', source(), newDir(), { node: 'node' });
    expect(launch.env).toMatchObject({
      ROLE: 'bff', PORT: '8080', UPSTREAM_URL: 'http://svc.mesh-verify.svc.cluster.local:8080', POD_NAME: recorded.pod.metadata.name,
    });
  });

  it('sets up every volume of the pod: the ServiceAccount admission\'s kube-api-access and Istio\'s podinfo and token', () => {
    const root = newDir();
    containerLaunch(recorded.pod, 'bff', source(), root, { node: 'node' });
    const vols = join(root, 'bff', 'volumes');
    const access = recorded.pod.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-')).name as string;
    expect(readFileSync(join(vols, access, 'token'), 'utf8')).toBe('token-for-api');
    expect(readFileSync(join(vols, access, 'namespace'), 'utf8')).toBe('mesh-verify');
    expect(readFileSync(join(vols, access, 'ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(readFileSync(join(vols, 'istio-token', 'istio-token'), 'utf8')).toBe('token-for-istio-ca');
    // fieldpath.FormatMap: key="value" lines in key order.
    const labels = readFileSync(join(vols, 'istio-podinfo', 'labels'), 'utf8').split('\n');
    expect(labels).toContain('app="bff"');
    expect([...labels].sort()).toEqual(labels);
    expect(tokenRequests(recorded.pod)).toEqual(expect.arrayContaining([{ audience: '', expirationSeconds: 3607 }, { audience: 'istio-ca', expirationSeconds: 43200 }]));
  });

  it('fails as the kubelet does: a missing ConfigMap volume, a missing key, no program for the image', () => {
    const noApp = source({ configMap: (ns, name) => (name === 'mesh-verify-app' ? undefined : source().configMap(ns, name)) });
    expect(() => containerLaunch(recorded.pod, 'bff', noApp, newDir(), { node: 'node' }))
      .toThrow(/MountVolume.SetUp failed for volume "app" : configmap "mesh-verify-app" not found/);
    const pod = structuredClone(recorded.pod);
    pod.spec.containers[0].env.push({ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'mesh-verify-app', key: 'mode' } } });
    try { containerEnv(pod, pod.spec.containers[0], source()); expect.unreachable(); } catch (err) {
      expect(err).toBeInstanceOf(ContainerStartError);
      expect((err as ContainerStartError).reason).toBe('CreateContainerConfigError');
      expect((err as Error).message).toBe("couldn't find key mode in ConfigMap mesh-verify/mesh-verify-app");
    }
    pod.spec.containers[0].env.at(-1).valueFrom.configMapKeyRef.optional = true;
    expect(containerEnv(pod, pod.spec.containers[0], source())).not.toHaveProperty('MODE');
    expect(() => containerLaunch(recorded.pod, 'bff', source(), newDir(), {})).toThrow(/no program for node \(image node:/);
  });

  it('expands $(VAR) from variables defined before, keeps unknown ones, and $$ escapes', () => {
    expect(expand('http://$(HOST):$(PORT)/$(NOPE) $$(HOST) $(', { HOST: 'svc', PORT: '8080' })).toBe('http://svc:8080/$(NOPE) $(HOST) $(');
    const pod = { metadata: { name: 'p', namespace: 'n' }, spec: {}, status: { podIP: '10.244.0.7' } };
    const env = containerEnv(pod, { env: [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'URL', value: 'http://$(IP):80' }, { name: 'LATER', value: '$(AFTER)' }, { name: 'AFTER', value: 'x' }] }, source());
    expect(env).toEqual({ IP: '10.244.0.7', URL: 'http://10.244.0.7:80', LATER: '$(AFTER)', AFTER: 'x' });
  });
});
