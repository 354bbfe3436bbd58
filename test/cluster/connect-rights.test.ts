import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { EnvironmentError } from '../../src/core/errors.js';
import { openAdminTransport } from '../../src/cluster/admin-transport.js';
import { connectKube, type KubeClients } from '../../src/cluster/kube-client.js';
import { checkRights, judgeAccess, kubernetesMinor, pathAccessChecks } from '../../src/cluster/preflight.js';
import { labPod, loadStartKubeApi, startFakeAdmin, tempDir } from './lab-api.js';

/**
 * Port-forward and exec over WebSocket are an HTTP GET, so kube-apiserver authorizes them as
 * `get` on pods/portforward and pods/exec (k8s.io/apiserver pkg/endpoints/request/requestinfo.go
 * maps the method to the verb; SPDY is a POST, `create`). From Kubernetes 1.35 the upgrade must
 * also be allowed to `create` (KEP-4006 "synthetic RBAC create authorization check",
 * kubernetes/kubernetes#134577, gate AuthorizePodWebsocketUpgradeCreatePermission, beta, on by
 * default). The lab's API double authorizes the same way, so the preflight's verdict is checked
 * against what the connection then really does.
 */
describe('preflight: port-forward and exec rights, verb by verb', () => {
  const tmp = tempDir();
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of closers) await c(); tmp.remove(); });
  const pod = { namespace: 'mesh-verify', name: 'bff-7d9f-abcde' };

  async function cluster(name: string, o: { denyVerbs: string[]; kubernetesMinor?: number }): Promise<KubeClients> {
    const admin = await startFakeAdmin('bff-1');
    const api = await (await loadStartKubeApi())({ pods: () => [labPod(pod.name, admin.port)], ...o });
    closers.push(() => api.close(), () => admin.close());
    const file = join(tmp.dir, name);
    await api.writeKubeconfig(file, name);
    return connectKube({ kubeconfig: file });
  }

  it('reads the minor of a gitVersion', () => {
    expect(kubernetesMinor('v1.33.1')).toBe(33);
    expect(kubernetesMinor('v1.35.0-eks-4d2b5f1')).toBe(35);
    expect(kubernetesMinor(null)).toBeNull();
  });

  it('1.33 without get on pods/portforward and pods/exec: names the missing get; the WebSocket really is refused', async () => {
    const c = await cluster('k133-noget', { denyVerbs: ['get pods/portforward', 'get pods/exec'] });
    const err = await checkRights(c, pathAccessChecks({ deploy: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toBe('not enough rights on context k133-noget: cannot get pods/portforward in mesh-verify, get pods/exec in mesh-verify, get pods/portforward in istio-system, get pods/exec in istio-system');
    expect((err as EnvironmentError).fix).toMatch(/grant both get and create on pods\/portforward/);
    const refused = await openAdminTransport(c, pod).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/HTTP 403/);
  });

  it('1.33 without create: the WebSocket works with get alone, so only a warning about 1.35', async () => {
    const c = await cluster('k133-nocreate', { denyVerbs: ['create pods/portforward', 'create pods/exec'] });
    const r = await checkRights(c, pathAccessChecks({ deploy: false }));
    expect(r.warning).toBe('Kubernetes 1.33 lets this context connect with get alone, but 1.35 and later also need create pods/portforward in mesh-verify, create pods/exec in mesh-verify, create pods/portforward in istio-system, create pods/exec in istio-system');
    const t = await openAdminTransport(c, pod, { allowExec: false });
    try { expect((await t.get('/server_info')).status).toBe(200); } finally { await t.close(); }
  });

  it('1.35 without create: names the missing create; the WebSocket really is refused', async () => {
    const c = await cluster('k135-nocreate', { denyVerbs: ['create pods/portforward', 'create pods/exec'], kubernetesMinor: 35 });
    const err = await checkRights(c, pathAccessChecks({ deploy: false })).catch((e: unknown) => e);
    expect((err as Error).message).toBe('not enough rights on context k135-nocreate: cannot create pods/portforward in mesh-verify, create pods/exec in mesh-verify, create pods/portforward in istio-system, create pods/exec in istio-system');
    const refused = await openAdminTransport(c, pod).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/HTTP 403/);
  });

  it('port-forward denied but exec allowed: passes with a warning (the run reads admin through exec)', async () => {
    const c = await cluster('k135-exec', { denyVerbs: ['create pods/portforward'], kubernetesMinor: 35 });
    const r = await checkRights(c, pathAccessChecks({ deploy: false }));
    expect(r.warning).toBe('admin port in mesh-verify: reached through pods/exec; cannot create pods/portforward in mesh-verify; admin port in istio-system: reached through pods/exec; cannot create pods/portforward in istio-system');
    const t = await openAdminTransport(c, pod);
    try { expect(t.via).toBe('exec'); } finally { await t.close(); }
  });

  it('judgeAccess: plain checks fail on their own; of alternatives, one wholly allowed is enough', () => {
    const check = (verb: string, subresource: string, oneOf?: string) => ({ verb, resource: 'pods', subresource, namespace: 'n', ...(oneOf ? { oneOf } : {}) });
    expect(judgeAccess([{ check: check('get', 'log'), allowed: false }]).denied).toHaveLength(1);
    const r = judgeAccess([
      { check: check('get', 'portforward', 'a'), allowed: true }, { check: check('create', 'portforward', 'a'), allowed: false },
      { check: check('get', 'exec', 'a'), allowed: true }, { check: check('create', 'exec', 'a'), allowed: false },
    ]);
    expect(r.denied.map((c) => `${c.verb} ${c.subresource}`)).toEqual(['create portforward', 'create exec']);
  });
});
