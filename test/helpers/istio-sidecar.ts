import { pickAddresses as pickLabAddresses } from '../../src/lab/envoy-plane.js';
import { request } from 'node:http';
import { join } from 'node:path';
import type { AdminGetter } from '../../src/collect/types.js';
import { adminRequest } from '../../src/lab/envoy/process.js';
import { XdsDirectory } from '../../src/lab/envoy/xds-files.js';
import { bootstrap, clusters, endpoints, listeners, rootSecret, routes, tlsSecret, type LabAddresses, type ProxyShapeInput } from '../../src/lab/istio-shape/resources.js';
import { createLabPki, issueWorkloadIdentity } from '../../src/lab/lab-pki.js';
import { placementFor } from '../../src/lab/placements.js';
import { HEALTHY_MESH } from '../../src/lab/types.js';
import { APP_PORT, BFF_WORKLOAD } from '../../src/topology/reference.js';
import { pinnedVersions } from '../../src/topology/versions.js';
import { startEnvoy, type RunningEnvoy } from './real-envoy.js';

/**
 * A REAL Envoy (the pinned release) configured as the lab configures bff's sidecar: the
 * Istio-shaped bootstrap, listeners, clusters, routes and endpoints of src/lab/istio-shape,
 * delivered as watched xDS files (src/lab/envoy/xds-files.ts), and the SDS secrets `default`
 * (workload certificate chain and its PRIVATE KEY, by default in istio-agent's form) and `ROOTCA`.
 * Its own loopback block (127.A.B.0/24, as the lab's data plane picks one) keeps its fixed
 * listener ports (15001, 15006, 8080, 15090) apart from other tests; the admin API is on
 * 127.0.0.1 with a port Envoy picks.
 */
export interface IstioSidecar {
  envoy: RunningEnvoy;
  addresses: LabAddresses;
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

/** The ports this test sidecar binds, checked free by the lab's own block picker. */
const sidecarPorts = (a: LabAddresses): [string, number][] => [[a.bff, 15001], [a.bff, 15006], [a.bff, 8080], [a.bff, 15090], [a.svcVip, 8080]];
const pickAddresses = (): Promise<LabAddresses> => pickLabAddresses(sidecarPorts);

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
  const [pki, addresses] = await Promise.all([createLabPki(), pickAddresses()]);
  const identity = await issueWorkloadIdentity(pki, BFF_WORKLOAD);
  const placement = placementFor('bff');
  let xds: XdsDirectory | null = null;
  let shape: ProxyShapeInput | null = null;
  const extraClusters: Record<string, unknown>[] = [];
  const envoy = await startEnvoy(binary, (dir) => {
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
    // The admin API on 127.0.0.1:0 (real-envoy.ts), not the pod's fixed 15000.
    const { admin: _admin, ...rest } = bootstrap(input, addresses.bff);
    return rest;
  }, 'test-bff-sidecar');
  try {
    // Ready when Envoy reports every xDS version written (the lab's own convergence check).
    await (xds as unknown as XdsDirectory).converged(() => envoy.admin('/config_dump?include_eds'), 15_000);
  } catch (err) {
    await envoy.stop();
    throw err;
  }
  const requests: string[] = [];
  return {
    envoy,
    addresses,
    keyPem: identity.keyPem,
    requests,
    getter: (via = 'direct') => ({
      via,
      get: (path, o) => { requests.push(path); return adminRequest('127.0.0.1', envoy.adminPort, path, 'GET', o.timeoutMs); },
      close: () => {},
    }),
    send: (id) => new Promise((resolve, reject) => {
      const req = request({ host: addresses.svcVip, port: APP_PORT, path: '/', agent: false, headers: { host: `svc.mesh-verify.svc.cluster.local:${APP_PORT}`, 'x-request-id': id } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    }),
    accessLog: () => envoy.readLines('access.log').join('\n') + '\n',
    addCluster: (name) => {
      extraClusters.push({ name, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints: [] } });
      (xds as unknown as XdsDirectory).put('cds', (xds as unknown as XdsDirectory).files.cds, [...clusters(shape!), ...extraClusters]);
    },
    stop: () => envoy.stop(),
  };
}
