import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { AdminGetter } from '../../src/collect/types.js';
import { adminRequest, startEnvoy as startLabEnvoy, type EnvoyProcess } from '../../src/lab/envoy/process.js';
import { podCidrFor } from '../../src/lab/kube-control-plane.js';
import { labTempDir } from '../../src/lab/lab-dirs.js';
import { PodNetwork, parseIstioIptablesArgs, reservePodCidr, type PodSandbox } from '../../src/lab/pod-network.js';
import { XdsDirectory } from '../../src/lab/envoy/xds-files.js';
import { bootstrap, clusters, endpoints, listeners, rootSecret, routes, tlsSecret, type LabAddresses, type ProxyShapeInput } from '../../src/lab/istio-shape/resources.js';
import { createLabPki, issueWorkloadIdentity } from '../../src/lab/lab-pki.js';
import { placementFor } from '../../src/lab/placements.js';
import { HEALTHY_MESH } from '../../src/lab/types.js';
import { APP_PORT, BFF_WORKLOAD } from '../../src/topology/reference.js';
import { pinnedVersions } from '../../src/topology/versions.js';

/**
 * A REAL Envoy (the pinned release) configured as the lab configures bff's sidecar: the
 * Istio-shaped bootstrap, listeners, clusters, routes and endpoints of src/lab/istio-shape,
 * delivered as watched xDS files (src/lab/envoy/xds-files.ts), and the SDS secrets `default`
 * (workload certificate chain and its PRIVATE KEY, by default in istio-agent's form) and `ROOTCA`.
 * It runs as the lab runs it: in a pod network namespace of its own (src/lab/pod-network.ts) with
 * Istio's iptables rules, its admin API on the pod's 127.0.0.1:15000 (reached through a relay
 * into the pod, as a port-forward would).
 */
export interface IstioSidecar {
  envoy: EnvoyProcess;
  addresses: LabAddresses;
  /** GET on the admin API (127.0.0.1:15000 inside the pod). */
  adminRequest(path: string, timeoutMs?: number): Promise<{ status: number; body: string }>;
  /** The private key of the `default` SDS secret (what a saved dump must never carry). */
  keyPem: string;
  /** Every admin path asked through a getter of this sidecar, in order. */
  requests: string[];
  /** An AdminGetter (as src/collect reads a proxy) on this Envoy's admin port; records each path. */
  getter(via?: AdminGetter['via']): AdminGetter;
  /**
   * One request through bff's outbound listener (svc's ClusterIP:8080) carrying `x-request-id: id`;
   * svc has no pod behind it here, so Envoy answers 503 itself: counters move and the access log
   * gets a line with the id.
   */
  send(id: string): Promise<number>;
  /** Envoy's access log (what `kubectl logs -c istio-proxy` shows). */
  accessLog(): string;
  /** Push a new CDS version with one more (endpoint-less) cluster named `name`: a config update as istiod pushes one. */
  addCluster(name: string): void;
  stop(): Promise<void>;
}

/** istio-init's args as the injector writes them (the bff pod recorded from the lab's apiserver). */
export function istioInitArgs(): string[] {
  const pod = JSON.parse(readFileSync(new URL('../../fixtures/kube/bff-pod-1.35.4.json', import.meta.url), 'utf8')) as { pod: { spec: { initContainers: { name: string; args: string[] }[] } } };
  return pod.pod.spec.initContainers.find((c) => c.name === 'istio-init')!.args;
}

export interface IstioSidecarOptions {
  /**
   * How the `default` SDS secret carries its chain and key. 'inline_bytes' (default) is what
   * istio-agent's SDS server sends (istio security/pkg/nodeagent/sds/sdsservice.go, toEnvoySecret:
   * DataSource_InlineBytes; real Istio dumps show `"inline_bytes": "W3JlZGFjdGVkXQ=="`);
   * and what the lab's generator writes (src/lab/istio-shape/resources.ts tlsSecret); 'inline_string'
   * is the other form Envoy accepts (a file-based or hand-written config).
   */
  keyForm?: 'inline_bytes' | 'inline_string';
}

/** tlsSecret() of the lab (istio-agent's base64 bytes), with its data sources as inline strings instead. */
function asInlineString(secret: Record<string, unknown>): Record<string, unknown> {
  const cert = secret.tls_certificate as Record<string, { inline_bytes: string }>;
  const text = (d: { inline_bytes: string }) => ({ inline_string: Buffer.from(d.inline_bytes, 'base64').toString('utf8') });
  return { ...secret, tls_certificate: { certificate_chain: text(cert.certificate_chain), private_key: text(cert.private_key) } };
}

export async function startIstioSidecar(binary: string, opts: IstioSidecarOptions = {}): Promise<IstioSidecar> {
  const root = labTempDir('mesh-verify-test-sidecar-');
  const range = await reservePodCidr(4, podCidrFor);
  const cidr = range.cidr;
  const base = cidr.replace(/\.0\/24$/, '');
  const addresses: LabAddresses = { nlb: '127.0.0.1', gateway: `${base}.1`, bff: `${base}.2`, svc: `${base}.3`, caller: `${base}.4`, svcVip: '10.96.0.20' };
  const net = await PodNetwork.create(cidr);
  let sandbox: PodSandbox;
  try {
    sandbox = await net.addPod('mesh-verify/bff', addresses.bff, parseIstioIptablesArgs(istioInitArgs()));
  } catch (err) {
    await net.stop();
    range.release();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const pki = await createLabPki();
  const identity = await issueWorkloadIdentity(pki, BFF_WORKLOAD);
  const placement = placementFor('bff');
  let xds: XdsDirectory | null = null;
  let shape: ProxyShapeInput | null = null;
  const extraClusters: Record<string, unknown>[] = [];
  const dir = join(root, 'envoy');
  mkdirSync(dir);
  {
    xds = new XdsDirectory(join(dir, 'xds'));
    const input: ProxyShapeInput = {
      role: 'bff', workload: BFF_WORKLOAD, podName: placement.podName, labels: placement.labels, state: HEALTHY_MESH,
      addresses, accessLogPath: join(dir, 'access.log'), files: xds.files, istioVersion: pinnedVersions().istio,
    };
    shape = input;
    const secret = tlsSecret('default', identity.chainPem, identity.keyPem);
    xds.put('sds', xds.files.sds('default'), [opts.keyForm === 'inline_string' ? asInlineString(secret) : secret]);
    xds.put('sds', xds.files.sds('ROOTCA'), [rootSecret(identity.rootPem)]);
    for (const [name, cla] of Object.entries(endpoints(input))) xds.put('eds', xds.files.eds(name), [cla]);
    for (const [name, rc] of Object.entries(routes(input))) xds.put('rds', xds.files.rds(name), [rc]);
    xds.put('cds', xds.files.cds, clusters(input));
    xds.put('lds', xds.files.lds, listeners(input));
    writeFileSync(join(dir, 'bootstrap.json'), JSON.stringify(bootstrap(input)));
    writeFileSync(join(dir, 'access.log'), '');
  }
  const connect = () => net.connect(sandbox, '127.0.0.1', 15000);
  const admin = (path: string, timeoutMs = 10_000) => adminRequest('127.0.0.1', 15000, path, 'GET', timeoutMs, connect);
  let envoy: EnvoyProcess;
  try {
    envoy = await startLabEnvoy({ name: 'test-bff-sidecar', binary, dir, adminHost: '127.0.0.1', adminPort: 15000, sandbox: { enter: (argv) => net.enter(sandbox, argv), connect: (h, p) => net.connect(sandbox, h, p), gid: 1337 } });
  } catch (err) {
    await net.stop();
    range.release();
    throw err;
  }
  const stop = async () => { await envoy.stop(); await net.stop(); range.release(); rmSync(root, { recursive: true, force: true }); };
  try {
    // Ready when Envoy reports every xDS version written (the lab's own convergence check).
    await (xds as unknown as XdsDirectory).converged(async () => (await admin('/config_dump?include_eds')).body, 15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const requests: string[] = [];
  return {
    envoy,
    addresses,
    adminRequest: admin,
    keyPem: identity.keyPem,
    requests,
    getter: (via = 'direct') => ({
      via,
      get: (path, o) => { requests.push(path); return admin(path, o.timeoutMs); },
      close: () => {},
    }),
    send: (id) => new Promise((resolve, reject) => {
      // From the app's place in the pod: iptables hands svc's ClusterIP:8080 to virtualOutbound.
      const req = request({ host: addresses.svcVip, port: APP_PORT, path: '/', createConnection: () => net.connect(sandbox, addresses.svcVip, APP_PORT), headers: { host: `svc.mesh-verify.svc.cluster.local:${APP_PORT}`, 'x-request-id': id } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    }),
    accessLog: () => (existsSync(join(dir, 'access.log')) ? readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean).join('\n') : '') + '\n',
    addCluster: (name) => {
      extraClusters.push({ name, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints: [] } });
      (xds as unknown as XdsDirectory).put('cds', (xds as unknown as XdsDirectory).files.cds, [...clusters(shape!), ...extraClusters]);
    },
    stop,
  };
}
