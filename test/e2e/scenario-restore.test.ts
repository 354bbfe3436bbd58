import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import { silentProgress } from '../../src/core/progress.js';
import { onInterrupt, type SignalSource } from '../../src/cluster/cleanup.js';
import { connectKube, type KubeClients } from '../../src/cluster/kube-client.js';
import { startLab } from '../../src/lab/lab.js';
import type { RunningLab } from '../../src/lab/types.js';
import { defaultPathDeps } from '../../src/path/default-deps.js';
import { parsePathOptions } from '../../src/path/options.js';
import { prepareCluster } from '../../src/path/prepare-target.js';
import { runPath, type PathRunDeps } from '../../src/path/run-path.js';
import { MESH_NAMESPACE } from '../../src/topology/reference.js';
import { runCli } from '../helpers/cli-in-process.js';

/**
 * Issue 9 D1: `path --scenario dr-disable` applies the EXISTING DestinationRule bff with
 * tls.mode DISABLE. What a run applies over must return to its state before the run (here: the
 * lab's DR bff with ISTIO_MUTUAL and its labels) on success, on failure and on Ctrl-C; before
 * the fix only what the run created was deleted and the DR stayed DISABLE.
 */
type DR = KubernetesObject & { spec?: { trafficPolicy?: { tls?: { mode?: string } } } };
const drRef = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'bff', namespace: MESH_NAMESPACE } };
const readDr = (c: KubeClients) => c.objects.read(drRef) as Promise<DR>;

let lab: RunningLab;
let clients: KubeClients;
let prior: DR;
beforeEach(async () => {
  lab = await startLab({});
  clients = await connectKube({ kubeconfig: lab.kubeconfigPath });
  prior = await readDr(clients);
  expect(prior.spec?.trafficPolicy?.tls?.mode).toBe('ISTIO_MUTUAL');
});
afterEach(async () => { await lab.stop(); });

async function expectRestored(): Promise<void> {
  const now = await readDr(clients);
  expect(now.spec).toEqual(prior.spec);
  expect(now.metadata?.labels).toEqual(prior.metadata?.labels);
  expect(now.metadata?.uid).toBe(prior.metadata?.uid);
}

function labDeps(over: Partial<PathRunDeps>): PathRunDeps {
  return {
    ...defaultPathDeps(),
    prepare: (opts, p) => prepareCluster({ ...opts, entry: { address: lab.nlb.host, port: lab.nlb.port } }, p),
    timeouts: { entry: 5_000, admin: 5_000, logWait: 2_000 },
    ...over,
  };
}

const opts = () => parsePathOptions({ kubeconfig: lab.kubeconfigPath, scenario: 'dr-disable', requests: '2' });

describe('path --scenario dr-disable on an existing topology (the lab through its kubeconfig)', () => {
  it('success: contradicted as expected, then the DestinationRule bff is back as it was', async () => {
    const r = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--entry', `${lab.nlb.host}:${lab.nlb.port}`,
      '--scenario', 'dr-disable', '--expect', 'contradicted', '--requests', '2', '-o', 'json', '-q');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).counts.contradicted).toBeGreaterThan(0);
    await expectRestored();
  });

  it('failure during the run: the DestinationRule is restored before the error surfaces', async () => {
    let during: string | undefined;
    const deps = labDeps({
      probe: async () => {
        during = (await readDr(clients)).spec?.trafficPolicy?.tls?.mode;
        throw new Error('probe exploded');
      },
    });
    await expect(runPath(opts(), deps, silentProgress)).rejects.toThrow('probe exploded');
    expect(during).toBe('DISABLE');
    await expectRestored();
  });

  it('Ctrl-C during the run: the cleanup restores the DestinationRule, then the signal is re-delivered', async () => {
    const proc = Object.assign(new EventEmitter(), { pid: 4242, killed: [] as string[], kill(_pid: number, s: NodeJS.Signals) { proc.killed.push(s); } });
    let hook: ReturnType<typeof onInterrupt> | null = null;
    const deps = labDeps({
      interrupt: (cleanup, p) => (hook = onInterrupt(cleanup, { progress: p, proc: proc as unknown as SignalSource })),
      probe: async () => {
        expect((await readDr(clients)).spec?.trafficPolicy?.tls?.mode).toBe('DISABLE');
        proc.emit('SIGINT');
        await hook!.done;
        throw new Error('interrupted');
      },
    });
    await expect(runPath(opts(), deps, silentProgress)).rejects.toThrow('interrupted');
    expect(proc.killed).toEqual(['SIGINT']);
    await expectRestored();
  });

  it('objects an earlier scenario left, which a run removes, are put back at its end too', async () => {
    const at = ['--kubeconfig', lab.kubeconfigPath, '--entry', `${lab.nlb.host}:${lab.nlb.port}`, '--requests', '2', '-o', 'json', '-q'];
    const caller = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'plaintext-caller', namespace: MESH_NAMESPACE } };
    const left = await runCli('path', ...at, '--scenario', 'permissive-svc', '--expect', 'contradicted', '--keep');
    expect(left.status).toBe(0);
    const before = await clients.objects.read(caller);
    let during: number | undefined;
    const deps = labDeps({
      probe: async () => {
        during = (await clients.objects.list('apps/v1', 'Deployment', MESH_NAMESPACE)).items.filter((d) => d.metadata?.name === 'plaintext-caller').length;
        throw new Error('stop after the deploy');
      },
    });
    await expect(runPath(parsePathOptions({ kubeconfig: lab.kubeconfigPath, requests: '2' }), deps, silentProgress)).rejects.toThrow('stop after the deploy');
    expect(during).toBe(0);
    const after = await clients.objects.read(caller) as typeof before & { spec?: unknown };
    expect(after.spec).toEqual((before as typeof after).spec);
    expect(after.metadata?.labels).toEqual(before.metadata?.labels);
  });

  it("a user's own object of the same name (not labelled by mesh-verify) is restored, not deleted as if the run had created it", async () => {
    await clients.objects.delete(drRef);
    const mine = { ...drRef, metadata: { ...drRef.metadata, labels: { owner: 'me' } }, spec: { host: 'bff.mesh-verify.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } };
    await clients.objects.create(mine);
    const r = await runCli('path', '--kubeconfig', lab.kubeconfigPath, '--entry', `${lab.nlb.host}:${lab.nlb.port}`,
      '--scenario', 'dr-disable', '--expect', 'contradicted', '--requests', '2', '-o', 'json', '-q');
    expect(r.status).toBe(0);
    const now = await readDr(clients);
    expect(now.metadata?.labels).toEqual({ owner: 'me' });
    expect(now.spec).toEqual(mine.spec);
  });
});

