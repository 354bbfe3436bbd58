import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { rolloutProblem } from '../../src/cluster/wait.js';
import { podProblem } from '../../src/cluster/pod-status.js';
import { entryFromService } from '../../src/cluster/entry.js';
import { parsePilotAgentResult } from '../../src/cluster/admin-transport.js';
import { exitCodeOf } from '../../src/cluster/exec-in-pod.js';
import { upgradeStatus } from '../../src/cluster/port-forward-server.js';
import { onInterrupt, type SignalSource } from '../../src/cluster/cleanup.js';
import { applyOrder } from '../../src/cluster/apply.js';
import { withManagedLabels, isValidLabelValue } from '../../src/topology/managed-labels.js';

const deployment = (status: V1Deployment['status'], generation = 2, replicas = 1): V1Deployment =>
  ({ metadata: { name: 'bff', namespace: 'mesh-verify', generation }, spec: { replicas, selector: {}, template: {} }, status });

describe('rolloutProblem', () => {
  it('is null only for an observed, updated, available rollout', () => {
    expect(rolloutProblem(deployment({ observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }))).toBeNull();
    expect(rolloutProblem(deployment({ observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }))).toBe('Deployment mesh-verify/bff: generation 2 not yet observed');
    expect(rolloutProblem(deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 2 }))).toBe('Deployment mesh-verify/bff: 1 old replicas still running');
    expect(rolloutProblem(deployment({ observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 0 }))).toBe('Deployment mesh-verify/bff: 0/1 replicas available');
    expect(rolloutProblem(deployment({ observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] })))
      .toBe('Deployment mesh-verify/bff: ProgressDeadlineExceeded');
  });
});

describe('podProblem', () => {
  const pod = (status: V1Pod['status'], containers = ['svc', 'istio-proxy']): V1Pod =>
    ({ metadata: { name: 'svc-1' }, spec: { containers: containers.map((name) => ({ name })) }, status });
  const running = (ready: Record<string, boolean>) => pod({
    phase: 'Running',
    conditions: [{ type: 'Ready', status: Object.values(ready).every(Boolean) ? 'True' : 'False' }],
    containerStatuses: Object.entries(ready).map(([name, r]) => ({ name, ready: r, image: 'x', imageID: 'x', restartCount: 0 })),
  }, Object.keys(ready));

  it('names the waiting container and its reason', () => {
    const p = pod({ phase: 'Pending', containerStatuses: [{ name: 'svc', ready: false, image: 'x', imageID: 'x', restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "node:20.19.4-alpine"' } } }] });
    expect(podProblem(p)).toBe('pod svc-1: container svc waiting: ImagePullBackOff (Back-off pulling image "node:20.19.4-alpine")');
  });

  it('distinguishes a missing sidecar, an unready sidecar and a ready pod', () => {
    expect(podProblem(running({ svc: true }), true)).toMatch(/has no istio-proxy container/);
    expect(podProblem(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'svc', ready: true, image: 'x', imageID: 'x', restartCount: 0 }, { name: 'istio-proxy', ready: false, image: 'x', imageID: 'x', restartCount: 0 }] }), true))
      .toBe('pod svc-1: container istio-proxy is not ready');
    expect(podProblem(running({ svc: true, 'istio-proxy': true }), true)).toBeNull();
    expect(podProblem(running({ svc: true }), false)).toBeNull();
  });

  it('finds a native sidecar (istio-proxy as an init container)', () => {
    const p: V1Pod = {
      metadata: { name: 'svc-1' }, spec: { initContainers: [{ name: 'istio-proxy', restartPolicy: 'Always' }], containers: [{ name: 'svc' }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }],
        initContainerStatuses: [{ name: 'istio-proxy', ready: true, image: 'x', imageID: 'x', restartCount: 0, state: { running: {} } }],
        containerStatuses: [{ name: 'svc', ready: true, image: 'x', imageID: 'x', restartCount: 0 }] },
    };
    expect(podProblem(p, true)).toBeNull();
  });

  it('reports an unschedulable pod', () => {
    expect(podProblem(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] })))
      .toBe('pod svc-1 is not scheduled: Unschedulable (0/1 nodes are available: 1 Insufficient cpu.)');
  });
});

describe('entryFromService', () => {
  const svc = (type: string, nodePort: number | undefined, lb?: { ip?: string; hostname?: string }) => ({
    metadata: { name: 'istio-ingressgateway', namespace: 'istio-system' },
    spec: { type, ports: [{ name: 'https', port: 443, targetPort: 8443, nodePort }] },
    status: lb ? { loadBalancer: { ingress: [lb] } } : {},
  }) as any;

  it('prefers a load balancer address (cloud-provider-kind, cloud LB)', () => {
    expect(entryFromService(svc('LoadBalancer', 30443, { ip: '172.18.0.5' }))).toEqual({ address: '172.18.0.5', port: 443, kind: 'loadbalancer' });
    expect(entryFromService(svc('LoadBalancer', 31000, { hostname: 'a.elb.example' }))).toEqual({ address: 'a.elb.example', port: 443, kind: 'loadbalancer' });
  });

  it('uses the kind host port when the NodePort is the mapped one, and says why not otherwise', () => {
    expect(entryFromService(svc('NodePort', 30443))).toEqual({ address: '127.0.0.1', port: 9443, kind: 'nodeport' });
    expect(entryFromService(svc('LoadBalancer', 30443))).toEqual({ address: '127.0.0.1', port: 9443, kind: 'nodeport' });
    // Another NodePort is reached on a node's address (test/cluster/entry.test.ts); without one, the line says so.
    expect(() => entryFromService(svc('NodePort', 31234))).toThrow('Service istio-system/istio-ingressgateway has no load balancer address and no node address was found for its https nodePort 31234');
  });
});

describe('pilot-agent request results', () => {
  it('maps exit codes and stderr back to HTTP statuses', () => {
    expect(parsePilotAgentResult(0, '{"state":"LIVE"}\n', '')).toEqual({ status: 200, body: '{"state":"LIVE"}' });
    expect(parsePilotAgentResult(0, 'invalid path. admin commands are:\n', '')?.status).toBe(404);
    // Envoy's 404 for /config_dump?resource=<no such field>; pilot-agent exits 0 for every 404.
    expect(parsePilotAgentResult(0, 'dynamic_active_clusterz not found in config dump\n', '')?.status).toBe(404);
    expect(parsePilotAgentResult(0, '{"configs":[{"note":"x not found in config dump"}]}\n', '')?.status).toBe(200);
    expect(parsePilotAgentResult(1, '', 'Error: received unsuccessful status code 503: draining\n')).toEqual({ status: 503, body: 'draining' });
    expect(parsePilotAgentResult(127, '', 'exec: "pilot-agent": executable file not found in $PATH\n')).toBeNull();
  });

  it('reads the exit code from the exec Status', () => {
    expect(exitCodeOf({ status: 'Success' })).toBe(0);
    expect(exitCodeOf({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '7' }] } })).toBe(7);
    expect(exitCodeOf(null)).toBeNull();
    expect(upgradeStatus(new Error('Unexpected server response: 403'))).toBe(403);
    expect(upgradeStatus(new Error('socket hang up'))).toBeNull();
  });
});

describe('labels and apply order', () => {
  it('adds the managed-by and run labels without touching the input', () => {
    const input = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', labels: { keep: 'me' } } };
    expect(withManagedLabels(input, 'r1').metadata?.labels).toEqual({ keep: 'me', 'app.kubernetes.io/managed-by': 'mesh-verify', 'mesh-verify.io/run': 'r1' });
    expect(input.metadata.labels).toEqual({ keep: 'me' });
    expect(isValidLabelValue('run-20250101-abc')).toBe(true);
    expect(isValidLabelValue('-bad')).toBe(false);
  });

  it('applies namespaces first and keeps the given order within a kind', () => {
    const o = (kind: string, name: string) => ({ apiVersion: 'v1', kind, metadata: { name } });
    expect(applyOrder([o('Gateway', 'g'), o('Deployment', 'd1'), o('Namespace', 'n'), o('Deployment', 'd2'), o('Secret', 's')]).map((x) => x.metadata.name))
      .toEqual(['n', 's', 'd1', 'd2', 'g']);
  });
});

describe('onInterrupt (Ctrl-C cleans up what this run created)', () => {
  function fakeProcess(): SignalSource & EventEmitter & { killed: string[] } {
    const e = new EventEmitter() as EventEmitter & SignalSource & { killed: string[] };
    e.killed = [];
    e.pid = 4242;
    e.kill = (_pid: number, signal: NodeJS.Signals) => { e.killed.push(signal); return true; };
    return e;
  }

  it('runs the cleanup once, then re-delivers the signal', async () => {
    const proc = fakeProcess();
    let cleaned = 0;
    const hook = onInterrupt(async () => { cleaned += 1; }, { proc });
    proc.emit('SIGINT');
    expect(hook.interrupted).toBe(true);
    await hook.done;
    expect(cleaned).toBe(1);
    expect(proc.killed).toEqual(['SIGINT']);
    expect(proc.listenerCount('SIGINT')).toBe(0);
  });

  it('a second Ctrl-C during cleanup ends at once', async () => {
    const proc = fakeProcess();
    let release!: () => void;
    const hook = onInterrupt(() => new Promise<void>((r) => { release = r; }), { proc });
    proc.emit('SIGINT');
    proc.emit('SIGINT');
    expect(proc.killed).toEqual(['SIGINT']);
    release();
    await hook.done;
  });

  it('dispose removes the handlers (normal end of a run)', () => {
    const proc = fakeProcess();
    const hook = onInterrupt(async () => {}, { proc });
    expect(proc.listenerCount('SIGTERM')).toBe(1);
    hook.dispose();
    expect(proc.listenerCount('SIGINT') + proc.listenerCount('SIGTERM')).toBe(0);
  });
});
