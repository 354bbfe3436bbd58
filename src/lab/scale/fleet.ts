import http from 'node:http';
import net from 'node:net';
import type { LabPod } from '../types.js';
import { decodeCertificates } from '../../envoy/certificate.js';
import { adminHandler } from './admin-handler.js';
import { buildCatalog, type DumpInputs } from './dump-builder.js';
import { createFleetPki } from './fleet-pki.js';
import { fleetObjects } from './fleet-objects.js';
import { planFleet, plantedProblems, type ProxySpec } from './plan.js';
import type { FleetOptions, RunningFleet } from './index.js';

const ADMIN_PORT = 15000;

/**
 * Start the scale fleet: one admin HTTP server per proxy on 127.0.0.1 (an unreachable proxy has
 * a port nothing listens on; a restarting one resets every connection), the API objects and the
 * ground truth.
 */
export async function startFleetImpl(opts: FleetOptions): Promise<RunningFleet> {
  const started = Date.now();
  const plan = planFleet(opts.count, opts.seed ?? 1);
  const pki = await createFleetPki(plan);
  const catalog = buildCatalog(plan);
  const [intermediate] = decodeCertificates(pki.intermediate.certPem);
  const planted = plantedProblems(plan, `intermediate ${intermediate.subject} (serial ${intermediate.serial})`);
  const credentialHosts = plan.gatewayCredentials.map((c) => ({ name: c.name, host: c.host }));
  const closers: (() => Promise<void>)[] = [];
  const pods: LabPod[] = [];

  const listen = async (server: net.Server): Promise<number> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    return (server.address() as net.AddressInfo).port;
  };

  const startProxy = async (p: ProxySpec): Promise<number> => {
    if (p.variant === 'unreachable') {
      // Reserve a port, then free it: connections are refused, as for a pod whose Envoy is gone.
      const s = net.createServer();
      const port = await listen(s);
      await new Promise<void>((r) => s.close(() => r()));
      return port;
    }
    if (p.variant === 'restarting') {
      const sockets = new Set<net.Socket>();
      const s = net.createServer((sock) => { sock.destroy(); });
      const port = await listen(s);
      closers.push(() => new Promise((r) => { sockets.forEach((x) => x.destroy()); s.close(() => r()); }));
      return port;
    }
    const certs = pki.certsFor(p);
    const inputs: DumpInputs = { spec: p, catalog, chainPem: certs.chainPem, rootPem: certs.rootPem, credentials: pki.gatewayCredentials, credentialHosts };
    const server = http.createServer({ keepAliveTimeout: 5000 }, adminHandler(() => inputs));
    const port = await listen(server);
    closers.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));
    return port;
  };

  const ports = await Promise.all(plan.proxies.map(startProxy));
  plan.proxies.forEach((p, i) => {
    const labels: Record<string, string> = { app: p.app };
    if (p.revision !== 'default') labels['istio.io/rev'] = p.revision;
    if (p.gateway) labels.istio = 'ingressgateway';
    const portMap: Record<number, number> = { [ADMIN_PORT]: ports[i] };
    pods.push({
      namespace: p.namespace, name: p.name, app: p.app, serviceAccount: p.serviceAccount, ip: p.ip, labels,
      containers: p.gateway ? ['istio-proxy'] : [p.app, 'istio-proxy'], ports: portMap, logs: () => [],
    });
  });
  for (const b of plan.barePods) {
    pods.push({ namespace: b.namespace, name: b.name, app: b.app, serviceAccount: b.app, ip: b.ip, labels: { app: b.app }, containers: [b.app], ports: {}, logs: () => [] });
  }
  const objects = fleetObjects(plan, pki.root.certPem);
  opts.log?.(`fleet: ${plan.proxies.length} proxies, ${plan.barePods.length} pods without sidecar, ${planted.length} planted problems (${Date.now() - started} ms)`);
  return {
    pods: () => pods,
    objects: () => objects,
    planted,
    stop: async () => { await Promise.all(closers.map((c) => c())); },
  };
}
