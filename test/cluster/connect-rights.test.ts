import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/core/errors.js';
import { openAdminTransport } from '../../src/cluster/admin-transport.js';
import { connectKube, type KubeClients } from '../../src/cluster/kube-client.js';
import { checkRights, judgeAccess, kubernetesMinor, pathAccessChecks } from '../../src/cluster/preflight.js';
import { realClusterMissing, startRealCluster, type PolicyRule, type RealCluster } from '../helpers/real-cluster.js';

/**
 * Port-forward and exec over WebSocket are an HTTP GET, so kube-apiserver authorizes them as
 * `get` on pods/portforward and pods/exec (k8s.io/apiserver pkg/endpoints/request/requestinfo.go
 * maps the method to the verb; SPDY is a POST, `create`). From Kubernetes 1.35 the upgrade must
 * also be allowed to `create` (KEP-4006 "synthetic RBAC create authorization check",
 * kubernetes/kubernetes#134577, gate AuthorizePodWebsocketUpgradeCreatePermission, beta, on by
 * default). The real kube-apiserver (1.35) and its RBAC answer both the preflight's
 * SelfSubjectAccessReviews and the connection, so the verdict is checked against what the
 * connection then really does. Before 1.35 only the verdict is checked (the same review answers,
 * judged for a 1.33 server): no 1.33 apiserver runs here.
 */
describe.skipIf(realClusterMissing !== null)('preflight: port-forward and exec rights, verb by verb (real RBAC)', () => {
  let c: RealCluster;
  const pod = { namespace: 'mesh-verify', name: 'bff-7d9f-abcde' };
  beforeAll(async () => {
    c = await startRealCluster();
    await c.envoyPod({ namespace: pod.namespace, name: pod.name });
  }, 120_000);
  afterAll(async () => { await c?.stop(); });

  const base: PolicyRule[] = [{ apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list'] }, { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }];
  async function context(name: string, connect: Record<'pods/portforward' | 'pods/exec', string[]>, gitVersion?: string): Promise<KubeClients> {
    const rules = [...base, ...Object.entries(connect).filter(([, verbs]) => verbs.length > 0).map(([r, verbs]) => ({ apiGroups: [''], resources: [r], verbs }))];
    const clients = await connectKube({ kubeconfig: await c.serviceAccountKubeconfig(name, rules) });
    expect(kubernetesMinor(clients.serverVersion)).toBe(35);
    if (gitVersion) clients.serverVersion = gitVersion;
    return clients;
  }

  it('reads the minor of a gitVersion', () => {
    expect(kubernetesMinor('v1.33.1')).toBe(33);
    expect(kubernetesMinor('v1.35.0-eks-4d2b5f1')).toBe(35);
    expect(kubernetesMinor(null)).toBeNull();
  });

  it('without get on pods/portforward and pods/exec: names the missing get (1.35, and judged for 1.33); the WebSocket really is refused', async () => {
    const c135 = await context('k135-noget', { 'pods/portforward': ['create'], 'pods/exec': ['create'] });
    const missing = 'cannot get pods/portforward in mesh-verify, get pods/exec in mesh-verify, get pods/portforward in istio-system, get pods/exec in istio-system';
    const err = await checkRights(c135, pathAccessChecks({ deploy: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toBe(`not enough rights on context k135-noget: ${missing}`);
    expect((err as EnvironmentError).fix).toMatch(/grant both get and create on pods\/portforward/);
    const refused = await openAdminTransport(c135, pod).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/HTTP 403/);
    const c133 = await context('k133-noget', { 'pods/portforward': ['create'], 'pods/exec': ['create'] }, 'v1.33.5');
    const err133 = await checkRights(c133, pathAccessChecks({ deploy: false })).catch((e: unknown) => e);
    expect((err133 as Error).message).toBe(`not enough rights on context k133-noget: ${missing}`);
  });

  it('1.33 without create: the WebSocket works with get alone there, so only a warning about 1.35 (the verdict, for a 1.33 server)', async () => {
    const c133 = await context('k133-nocreate', { 'pods/portforward': ['get'], 'pods/exec': ['get'] }, 'v1.33.5');
    const r = await checkRights(c133, pathAccessChecks({ deploy: false }));
    expect(r.warning).toBe('Kubernetes 1.33 lets this context connect with get alone, but 1.35 and later also need create pods/portforward in mesh-verify, create pods/exec in mesh-verify, create pods/portforward in istio-system, create pods/exec in istio-system');
  });

  it('1.35 without create: names the missing create; the WebSocket really is refused', async () => {
    const c135 = await context('k135-nocreate', { 'pods/portforward': ['get'], 'pods/exec': ['get'] });
    const err = await checkRights(c135, pathAccessChecks({ deploy: false })).catch((e: unknown) => e);
    expect((err as Error).message).toBe('not enough rights on context k135-nocreate: cannot create pods/portforward in mesh-verify, create pods/exec in mesh-verify, create pods/portforward in istio-system, create pods/exec in istio-system');
    const refused = await openAdminTransport(c135, pod).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/HTTP 403/);
  });

  it('with get and create on both: no warning, and the admin port answers over port-forward', async () => {
    const ok = await context('k135-both', { 'pods/portforward': ['get', 'create'], 'pods/exec': ['get', 'create'] });
    expect(await checkRights(ok, pathAccessChecks({ deploy: false }))).toEqual({ warning: null });
    const t = await openAdminTransport(ok, pod, { allowExec: false });
    try {
      expect(t.via).toBe('port-forward');
      expect((await t.get('/server_info')).status).toBe(200);
    } finally { await t.close(); }
  });

  it('port-forward denied but exec allowed: passes with a warning (the run reads admin through exec)', async () => {
    const c135 = await context('k135-exec', { 'pods/portforward': ['get'], 'pods/exec': ['get', 'create'] });
    const r = await checkRights(c135, pathAccessChecks({ deploy: false }));
    expect(r.warning).toBe('admin port in mesh-verify: reached through pods/exec; cannot create pods/portforward in mesh-verify; admin port in istio-system: reached through pods/exec; cannot create pods/portforward in istio-system');
    const t = await openAdminTransport(c135, pod);
    try {
      expect(t.via).toBe('exec');
      expect(JSON.parse((await t.get('/server_info')).body).state).toBe('LIVE');
    } finally { await t.close(); }
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
