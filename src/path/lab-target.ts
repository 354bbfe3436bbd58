import type { Progress } from '../core/progress.js';
import { detectIstio } from '../cluster/istioctl.js';
import { findGateway } from '../cluster/gateway.js';
import { connectKube } from '../cluster/kube-client.js';
import type { CapturePoint, HopTarget } from '../collect/wire/hop-facts.js';
import type { LabAddresses } from '../lab/istio-shape/resources.js';
import type { LabFault, LabOptions, LabPodNetwork, RunningLab } from '../lab/types.js';
import { pinnedKube } from '../lab/kube-binaries.js';
import { APP_PORT, GATEWAY_HTTPS_TARGET_PORT, ISTIO_OUTBOUND_PORT } from '../topology/reference.js';
import { kubeTarget } from './kube-target.js';
import type { PreparedTarget } from './target.js';

export type StartLab = (opts: LabOptions) => Promise<RunningLab>;

/** What every lab run says about its target, in the bundle and so in every report. */
export function labDescription(fault: LabFault | null, envoyVersion?: string): string {
  const k = pinnedKube();
  return `the mesh-verify lab on this machine: real Envoy${envoyVersion ? ` ${envoyVersion}` : ''} and real TLS behind a real Kubernetes ${k.kubernetes} control plane (etcd ${k.etcd}); the node and container runtime (kwok ${k.kwok}) and istiod are simulated; not a cluster${fault ? ` (fault injected: ${fault})` : ''}`;
}

/**
 * Where the connections of each reference segment go in the lab, and where each is seen: the
 * node's loopback (client -> NLB), the pods' bridge (between pods; src/lab/pod-network.ts), and a
 * pod's own loopback inside its network namespace (sidecar <-> app). What `path --lab --capture`
 * records, hop by hop.
 */
export interface LabCapturePoints { node: CapturePoint; bridge: CapturePoint; bff: CapturePoint; svc: CapturePoint }

/** The capture points of a lab's pod network. */
export function labCapturePoints(net: LabPodNetwork): LabCapturePoints {
  const pod = (role: 'bff' | 'svc'): CapturePoint => ({ name: `${role} pod: lo`, interface: 'lo', ...(net.netns[role] ? { netns: net.netns[role] } : {}) });
  return { node: { name: 'lo', interface: 'lo' }, bridge: { name: `pod bridge ${net.bridge}`, interface: net.bridge }, bff: pod('bff'), svc: pod('svc') };
}

export function labWireHops(a: LabAddresses, nlbPort: number, points: LabCapturePoints): HopTarget[] {
  return [
    { segment: 'client->nlb', address: a.nlb, port: nlbPort, at: points.node },
    { segment: 'nlb->gateway', address: a.gateway, port: GATEWAY_HTTPS_TARGET_PORT, at: points.bridge },
    // EDS endpoint = the pod's IP and port; the pod's iptables hand it to virtualInbound.
    { segment: 'gateway->bff-sidecar', address: a.bff, port: APP_PORT, at: points.bridge },
    // The inbound cluster dials the original destination from 127.0.0.6, on the pod's loopback.
    { segment: 'bff-sidecar->bff', address: a.bff, port: APP_PORT, at: points.bff },
    // The bff app dials svc's ClusterIP; iptables REDIRECT makes it 127.0.0.1:15001 (virtualOutbound).
    { segment: 'bff->bff-sidecar', address: '127.0.0.1', port: ISTIO_OUTBOUND_PORT, at: points.bff },
    { segment: 'bff-sidecar->svc-sidecar', address: a.svc, port: APP_PORT, at: points.bridge },
    { segment: 'svc-sidecar->svc', address: a.svc, port: APP_PORT, at: points.svc },
  ];
}

/**
 * The lab, started in this process, reached exactly like a cluster: through its kubeconfig
 * (connectKube), its Kubernetes API (apply, wait, pods, logs, port-forward) and its NLB.
 * Only kind and istioctl are skipped. Stopped when the run ends.
 */
export async function prepareLab(opts: { fault: LabFault | null; meshConfig?: Record<string, unknown>; meshConfigFile?: string; objects?: Record<string, unknown>[]; objectsFile?: string }, progress: Progress, startLab: StartLab): Promise<PreparedTarget> {
  const step = progress.step(`starting the lab${opts.fault ? ` with fault ${opts.fault}` : ''} (real Envoy and Kubernetes control plane; simulated node, runtime and istiod)`);
  const lab = await startLab({ fault: opts.fault, ...(opts.meshConfig ? { meshConfig: opts.meshConfig } : {}), ...(opts.objects ? { objects: opts.objects } : {}) });
  step.succeed(`lab running: NLB ${lab.nlb.host}:${lab.nlb.port}, Kubernetes API ${lab.apiServerUrl}`);
  try {
    const clients = await connectKube({ kubeconfig: lab.kubeconfigPath });
    // The lab's API shows an istiod pod as a cluster would: its (simulated) version is reported.
    const istio = await detectIstio(clients);
    // Found from its Service, as on a cluster (the lab's is istioctl's istio-system/istio-ingressgateway).
    const gateway = await findGateway(clients);
    const target = kubeTarget({
      clients,
      gateway,
      target: { kind: 'lab', simulated: true, context: clients.context, server: clients.server, description: labDescription(opts.fault, lab.envoy.version) },
      istio: istio ? { version: istio.version, revision: istio.revision } : null,
      host: lab.publicHost,
      entry: { address: lab.nlb.host, port: lab.nlb.port, kind: 'lab-nlb' },
      notes: [
        `Target: the mesh-verify lab on this machine: real Envoy ${lab.envoy.version} as NLB, gateway and sidecars, the real app, real TLS, and a real Kubernetes control plane (kube-apiserver, etcd, controller-manager, scheduler: ${lab.apiServerUrl}) whose RBAC, admission, EndpointSlices and port-forward/logs proxy this run went through. Simulated: the node and container runtime (kwok; the processes run on this machine under the pods' names, each pod's in a network namespace of its own with its pod IP and Istio's iptables rules), Istio's control plane (Istio-shaped xDS written by mesh-verify, a stand-in sidecar injector). Not a cluster: kind, istiod and istioctl were not used.`,
        ...(opts.fault ? [`Fault ${opts.fault} was injected when the lab started; the topology was not re-applied (that would repair object-driven faults).`] : []),
        ...(opts.meshConfig ? [`The lab's Istio was installed with the meshConfig of ${opts.meshConfigFile ?? 'a file'} laid over fixtures/istio/istio-operator.yaml (${Object.keys(opts.meshConfig).join(', ')}).`] : []),
        ...(opts.objects ? [`Applied to the lab when it started: ${opts.objects.map((o) => `${String(o.kind)} ${String((o.metadata as { namespace?: string }).namespace ?? '')}/${String((o.metadata as { name: string }).name)}`).join(', ')} (${opts.objectsFile ?? 'a file'}).`] : []),
        ...lab.state.envoyFiltersIgnored.map((line) => `The lab's istiod ignored ${line}.`),
        ...(lab.state.meshConfigRejected ? [`The lab's istiod refused the mesh config: ${lab.state.meshConfigRejected}.`] : []),
      ],
      waitTimeoutMs: 20_000,
      pollMs: 100,
      afterRelease: async (_keep, p) => {
        const s = p.step('stopping the lab');
        await lab.stop();
        s.succeed('lab stopped');
      },
    });
    const net = lab.podNetwork?.();
    return lab.addresses && net ? { ...target, wireHops: () => labWireHops(lab.addresses!, lab.nlb.port, labCapturePoints(lab.podNetwork?.() ?? net)) } : target;
  } catch (err) {
    await lab.stop().catch(() => {});
    throw err;
  }
}
