import http from 'node:http';
import net from 'node:net';
import type { LabPod } from '../types.js';
import { decodeCertificates } from '../../envoy/certificate.js';
import { adminHandler, type ProxyAnswers } from './admin-handler.js';
import { createFleetPki, type FleetPki } from './fleet-pki.js';
import { fleetObjects } from './fleet-objects.js';
import { ENVOY_FOR_ISTIO, FLEET_GATEWAY_API_NAME, FLEET_ISTIO_VERSION, planFleet, plantedProblems, type FleetPlan, type ProxySpec } from './plan.js';
import { loadRecordedTemplates, templateKeyOf, type RecordedTemplate } from './recorded.js';
import { Substitution } from './substitute.js';
import type { FleetOptions, RunningFleet } from './index.js';

const ADMIN_PORT = 15000;

/**
 * The Envoy a proxy of this Istio release runs: the recorded (pinned) Envoy for the fleet's own
 * release, else the one that Istio minor builds (ENVOY_FOR_ISTIO).
 */
export function envoyVersionFor(istioVersion: string, recordedEnvoy: string): string {
  if (istioVersion === FLEET_ISTIO_VERSION) return recordedEnvoy;
  return ENVOY_FOR_ISTIO[istioVersion.split('.').slice(0, 2).join('.')] ?? recordedEnvoy;
}

/**
 * A proxy's recorded answers and the substitution that makes them its own (built on first use).
 * `podIp()` is the pod's IP as the API reports it (kwok's status.podIP on the lab's control plane;
 * the plan's until the pod has one): the answers are rebuilt if it changed since they were built.
 */
function answersFor(p: ProxySpec, plan: FleetPlan, pki: FleetPki, templates: Map<string, RecordedTemplate>, podIp: () => string): () => ProxyAnswers {
  const key = templateKeyOf(p);
  const template = templates.get(key);
  if (!template) throw new Error(`fleet proxy ${p.namespace}/${p.name} needs the recorded template ${key}, which FLEET_TEMPLATES lacks`);
  let answers: ProxyAnswers | null = null;
  let builtFor = '';
  return () => {
    const ip = podIp();
    if (answers && builtFor === ip) return answers;
    builtFor = ip;
    const certs = pki.certsFor(p);
    const credentials: Record<string, string> = {};
    for (const c of plan.gatewayCredentials) {
      const pem = pki.gatewayCredentials.get(c.name);
      if (pem && c.sdsName in template.context.credentials) credentials[c.sdsName] = pem;
    }
    const ctx = template.context;
    answers = {
      template,
      substitution: new Substitution(ctx, {
        podName: p.name, namespace: p.namespace, app: p.app, serviceAccount: p.serviceAccount, podIp: ip,
        istioVersion: p.istioVersion, envoyVersion: envoyVersionFor(p.istioVersion, ctx.envoyVersion),
        chainPem: certs.chainPem, rootPem: certs.rootPem, credentials,
      }),
    };
    return answers;
  };
}

/**
 * Start the scale fleet: one admin HTTP server per proxy on 127.0.0.1 (an unreachable proxy has
 * a port nothing listens on; a restarting one resets every connection), the API objects and the
 * ground truth. On the lab's control plane (src/lab/kube-lab.ts) the pods are real Pod objects,
 * kwok's PortForward objects point their port 15000 at these servers, and setPodIps gives each
 * proxy the IP kwok allocated (its answers carry it).
 */
export async function startFleetImpl(opts: FleetOptions): Promise<RunningFleet> {
  const started = Date.now();
  const plan = planFleet(opts.count, opts.seed ?? 1);
  const pki = await createFleetPki(plan);
  // Answers recorded from real Envoy (npm run fixtures:fleet), shared by every proxy of a template.
  const templates = loadRecordedTemplates();
  const [intermediate] = decodeCertificates(pki.intermediate.certPem);
  const planted = plantedProblems(plan, `intermediate ${intermediate.subject} (serial ${intermediate.serial})`);
  const closers: (() => Promise<void>)[] = [];
  const pods: LabPod[] = [];

  const listen = async (server: net.Server): Promise<number> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    return (server.address() as net.AddressInfo).port;
  };

  /** Pod IPs by namespace/name (setPodIps); the plan's until then. */
  const podIps = new Map<string, string>();
  const ipOf = (p: { namespace: string; name: string; ip: string }) => podIps.get(`${p.namespace}/${p.name}`) ?? p.ip;

  /** The admin port on 127.0.0.1. */
  const startProxy = async (p: ProxySpec): Promise<number> => {
    if (p.variant === 'unreachable') {
      // Reserve a port, then free it: connections are refused, as for a pod whose Envoy is gone.
      const s = net.createServer();
      const port = await listen(s);
      await new Promise<void>((r) => s.close(() => r()));
      return port;
    }
    if (p.variant === 'restarting') {
      // A TCP reset (RST) on every connection, as a proxy whose listener is torn down mid-restart answers.
      const s = net.createServer((sock) => { sock.on('error', () => undefined); sock.resetAndDestroy(); });
      const port = await listen(s);
      closers.push(() => new Promise((r) => { s.close(() => r()); }));
      return port;
    }
    const server = http.createServer({ keepAliveTimeout: 5000 }, adminHandler(answersFor(p, plan, pki, templates, () => ipOf(p))));
    const port = await listen(server);
    closers.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));
    return port;
  };

  const admins = await Promise.all(plan.proxies.map(startProxy));
  plan.proxies.forEach((p, i) => {
    const labels: Record<string, string> = { app: p.app };
    if (p.revision !== 'default') labels['istio.io/rev'] = p.revision;
    // Istio's labels: the classic ingress gateway's istio=ingressgateway; a Gateway API gateway's
    // gateway.networking.k8s.io/gateway-name (Istio 1.30.3 manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml).
    if (p.gateway && !p.gatewayApi) labels.istio = 'ingressgateway';
    if (p.gatewayApi) labels['gateway.networking.k8s.io/gateway-name'] = FLEET_GATEWAY_API_NAME;
    const portMap: Record<number, number> = { [ADMIN_PORT]: admins[i] };
    pods.push({
      namespace: p.namespace, name: p.name, app: p.app, serviceAccount: p.serviceAccount, ip: p.ip, labels,
      containers: p.gateway ? ['istio-proxy'] : [p.app, 'istio-proxy'], nativeSidecar: p.nativeSidecar, ports: portMap, logs: () => [],
    });
  });
  for (const b of plan.barePods) {
    pods.push({ namespace: b.namespace, name: b.name, app: b.app, serviceAccount: b.app, ip: b.ip, labels: { app: b.app, ...b.labels }, containers: [b.app], ports: {}, logs: () => [] });
  }
  const objects = fleetObjects(plan, pki.root.certPem);
  opts.log?.(`fleet: ${plan.proxies.length} proxies, ${plan.barePods.length} pods without sidecar, ${planted.length} planted problems (${Date.now() - started} ms)`);
  return {
    pods: () => pods,
    objects: () => objects,
    planted,
    setPodIps: (ips) => {
      for (const [key, ip] of ips) podIps.set(key, ip);
      for (const pod of pods) pod.ip = ipOf(pod);
    },
    stop: async () => { await Promise.all(closers.map((c) => c())); },
  };
}
