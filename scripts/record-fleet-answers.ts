/**
 * Record the admin answers the audit's scale fleet serves, from REAL Envoy processes (issue 10).
 *
 *   npm run fixtures:fleet            (= npx tsx scripts/record-fleet-answers.ts [--envoy PATH] [--only TEMPLATE] [--keep])
 *
 * For every template of src/lab/scale/recorded.ts (FLEET_TEMPLATES: sidecars with each inbound
 * mode per port, a rejected listener, an Istio ingress gateway and a Gateway API gateway with
 * their credentials, one Secret missing) this starts the pinned Envoy with the lab's
 * Istio-shaped xDS (src/lab/istio-shape, as watched files), certificates from a lab CA, and saves
 * what its admin answers: /config_dump?include_eds, /stats, /certs, /clusters?format=json,
 * /server_info, and the audit's own queries (?mask=, ?resource=&name_regex=, /stats?filter=)
 * under fixtures/envoy/real-<version>/fleet/<template>/, with PROVENANCE.md.
 *
 * What the lab's istio-shape generators do not emit, the script derives from their output, as
 * istiod would configure it (pilot/pkg/networking/core/listener_inbound.go at Istio 1.30.3):
 * - a second application port (9090): copies of the generated 8080 inbound chains and cluster;
 * - DISABLE (PeerAuthentication mode DISABLE): only the raw_buffer chains of a port;
 * - a mesh of other services: copies of the generated outbound cluster, listener and virtual
 *   host per catalog service (bind_to_port false, as Istio's outbound listeners);
 * - a rejected listener: 0.0.0.0_9411 with two filter chains with the same match, which Envoy
 *   refuses (its error_state and listener_manager.lds.update_rejected are Envoy's own);
 * - a gateway's several credentials: the generated SNI chain per credential; a credential whose
 *   Secret is missing has no SDS file, so Envoy keeps that secret warming.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { findEnvoy } from '../src/lab/envoy/binary.js';
import { startEnvoy } from '../src/lab/envoy/process.js';
import { podCidrFor } from '../src/lab/kube-control-plane.js';
import { PodNetwork, reservePodCidr } from '../src/lab/pod-network.js';
import { XdsDirectory } from '../src/lab/envoy/xds-files.js';
import { bootstrap, clusters, endpoints, listeners, rootSecret, routes, tlsSecret, type LabAddresses, type ProxyShapeInput } from '../src/lab/istio-shape/resources.js';
import { dynamicEndpointConfig, lbEndpoint } from '../src/lab/istio-shape/eds.js';
import { createLabPki, issueWorkloadIdentity } from '../src/lab/lab-pki.js';
import { issueCertificate, createRootCa } from '../src/pki/ca.js';
import { HEALTHY_MESH, type MeshState } from '../src/lab/types.js';
import { FLEET_GATEWAY_API_NAME, FLEET_GATEWAY_API_NAMESPACE, REJECTED_LISTENER, planFleet } from '../src/lab/scale/plan.js';
import { FLEET_TEMPLATES, RECORDED_FILES, type RecordedAnswer, type RecordedContext, type TemplateSpec } from '../src/lab/scale/recorded.js';
import { AUDIT_ALL_LISTENERS_PATH, AUDIT_INBOUND_LISTENER_PATH, AUDIT_LISTENER_ERRORS_PATH, AUDIT_NODE_PATH, AUDIT_REJECTED_STAT_PATH, AUDIT_SECRETS_PATH } from '../src/collect/audit/proxy-reader.js';
import { GATEWAY_CREDENTIAL, GATEWAY_WORKLOAD, PUBLIC_HOST, SVC_WORKLOAD, spiffeId, type Workload } from '../src/topology/reference.js';
import { pinnedVersions } from '../src/topology/versions.js';

type Json = Record<string, unknown>;
const DAY = 86_400_000;
/** Services each recorded proxy sees besides the lab's own two (dump sizes of a mid-sized mesh). */
const CATALOG_SIZE = 25;
/** The recorded sidecar's identity (replaced per fleet pod; distinct tokens, so substitution is exact). */
const SIDECAR_WORKLOAD: Workload = { id: 'svc', namespace: 'rec-team', name: 'rec-app', serviceAccount: 'rec-app', spiffeId: spiffeId('rec-team', 'rec-app'), port: 8080 };
const GATEWAY_API_WORKLOAD: Workload = {
  id: 'gateway', namespace: FLEET_GATEWAY_API_NAMESPACE, name: `${FLEET_GATEWAY_API_NAME}-istio`, serviceAccount: `${FLEET_GATEWAY_API_NAME}-istio`,
  spiffeId: spiffeId(FLEET_GATEWAY_API_NAMESPACE, `${FLEET_GATEWAY_API_NAME}-istio`), port: 443,
};
/** Templates whose answers to QUERIES are kept (the first also keeps the plain /config_dump). */
const QUERY_TEMPLATES = ['sidecar-8080+9090-SSP', 'sidecar-8080-PP-rejected', 'gateway-api'];
/** Queries whose real answers are kept, to check src/lab/scale/config-dump-query.ts against Envoy. */
const QUERIES = [
  '/config_dump',
  AUDIT_NODE_PATH, AUDIT_SECRETS_PATH, AUDIT_INBOUND_LISTENER_PATH, AUDIT_ALL_LISTENERS_PATH, AUDIT_LISTENER_ERRORS_PATH, AUDIT_REJECTED_STAT_PATH,
  '/config_dump?resource=dynamic_listeners&name_regex=virtual',
  // The node without its `extensions` list (~95 KB of a real Envoy's node): what a narrower audit mask would get.
  `/config_dump?mask=${encodeURIComponent('bootstrap.node.id,bootstrap.node.metadata,bootstrap.node.user_agent_build_version')}`,
  '/config_dump?resource=dynamic_active_clusters&name_regex=inbound.*&mask=cluster.name',
  '/config_dump?mask=bootstrap.node,dynamic_active_secrets',
  '/config_dump?resource=no_such_list',
  '/config_dump?resource=version_info',
  '/config_dump?mask=static_clusters&include_eds',
  '/stats?filter=^server\\.',
  '/stats?format=json&filter=update_duration',
  '/stats?format=json&filter=^listener_manager\\.',
];

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const swap = <T>(x: T, from: string, to: string): T => JSON.parse(JSON.stringify(x).split(from).join(to)) as T;



function chainsOf(listener: Json): Json[] { return listener.filter_chains as Json[]; }
const portOf = (chain: Json): number => Number((chain.filter_chain_match as Json | undefined)?.destination_port ?? 0);
const isTls = (chain: Json): boolean => (chain.filter_chain_match as Json | undefined)?.transport_protocol === 'tls';

/** virtualInbound with the template's mode per port, from the generator's STRICT and PERMISSIVE listeners. */
function inboundListener(strict: Json, permissive: Json, t: TemplateSpec): Json {
  const out = clone(strict);
  const blackhole = chainsOf(strict).filter((c) => c.name === 'virtualInbound-blackhole');
  const chains: Json[] = [...blackhole];
  [0, ...t.ports].forEach((port, i) => {
    const mode = t.modes[i];
    const source = mode === 'STRICT' ? strict : permissive;
    // The generator writes chains for the catch-all (0) and 8080; other ports are copies of 8080's.
    const from = port === 0 ? 0 : 8080;
    let picked = chainsOf(source).filter((c) => c.name !== 'virtualInbound-blackhole' && portOf(c) === from);
    if (mode === 'PLAINTEXT') picked = picked.filter((c) => !isTls(c));
    if (port !== from) {
      picked = picked.map((c) => {
        const copy = swap(swap(c, 'inbound|8080||', `inbound|${port}||`), '0.0.0.0_8080', `0.0.0.0_${port}`);
        (copy.filter_chain_match as Json).destination_port = port;
        return swap(copy, ':8080/*', `:${port}/*`);
      });
    }
    chains.push(...picked);
  });
  out.filter_chains = chains;
  return out;
}

function catalog(): { host: string; name: string; namespace: string; vip: string; port: number }[] {
  return Array.from({ length: CATALOG_SIZE }, (_, i) => {
    const namespace = `shared-${String(i % 17).padStart(2, '0')}`;
    return { host: `catalog-${i}.${namespace}.svc.cluster.local`, name: `catalog-${i}`, namespace, vip: `10.96.${(i >> 8) & 255}.${i & 255}`, port: 8080 };
  });
}

interface Recording { spec: TemplateSpec; dir: string }

async function recordOne(t: TemplateSpec, index: number, base: string, net: PodNetwork, envoyPath: string, out: string, pki: Awaited<ReturnType<typeof createLabPki>>): Promise<Recording> {
  const gateway = t.role !== 'sidecar';
  const workload = t.role === 'sidecar' ? SIDECAR_WORKLOAD : t.role === 'gateway' ? GATEWAY_WORKLOAD : GATEWAY_API_WORKLOAD;
  const podIp = `${base}.${20 + index}`;
  const addresses: LabAddresses = {
    nlb: `${base}.1`, gateway: podIp, bff: `${base}.${60 + index}`, svc: podIp, caller: `${base}.13`,
    svcVip: `10.96.0.${200 + index}`,
  };
  const podName = t.role === 'sidecar' ? 'rec-app-7c9d8f6b5-r0001' : t.role === 'gateway' ? 'istio-ingressgateway-6d8f9b7c4d-r0002' : `${workload.name}-5f7b8c9d6-r0003`;
  // Relative to the working directory (main() changes into it): no path of this machine gets into Envoy's answers.
  const dir = t.key;
  mkdirSync(dir, { recursive: true });
  const xds = new XdsDirectory(join(dir, 'xds'));
  const accessLogPath = join(dir, 'access.log');
  writeFileSync(accessLogPath, '');
  // A DestinationRule with tls DISABLE to bff (what plaintext-gateway-bff applies): every recorded proxy has one plaintext cluster.
  // Istio's default stats inclusion (no ssl.* stats): what an istio-proxy without proxyStatsMatcher keeps.
  const state = (inbound: 'STRICT' | 'PERMISSIVE'): MeshState => ({ ...HEALTHY_MESH, gatewayToBff: 'plaintext', includeSslStats: false, inbound: { bff: 'STRICT', svc: inbound } });
  const labels: Record<string, string> = gateway
    ? (t.role === 'gateway' ? { app: 'istio-ingressgateway', istio: 'ingressgateway' } : { 'gateway.networking.k8s.io/gateway-name': FLEET_GATEWAY_API_NAME, 'service.istio.io/canonical-name': workload.name })
    : { app: workload.name, 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': workload.name, 'service.istio.io/canonical-revision': 'latest' };
  const input = (inbound: 'STRICT' | 'PERMISSIVE'): ProxyShapeInput => ({
    role: gateway ? 'gateway' : 'svc', workload, podName, labels, state: state(inbound), addresses, accessLogPath, files: xds.files, istioVersion: pinnedVersions().istio,
  });
  const strictIn = input('STRICT');
  const identity = await issueWorkloadIdentity(pki, workload, 'valid');
  xds.put('sds', xds.files.sds('default'), [tlsSecret('default', identity.chainPem, identity.keyPem)]);
  xds.put('sds', xds.files.sds('ROOTCA'), [rootSecret(identity.rootPem)]);

  // Clusters, endpoints and routes: the generator's, plus the catalog's copies of its svc entries.
  const svcHost = `${SVC_WORKLOAD.name}.${SVC_WORKLOAD.namespace}.svc.cluster.local`;
  const cds = clusters(strictIn);
  const svcCluster = cds.find((c) => c.name === `outbound|8080||${svcHost}`)!;
  const eds = endpoints(strictIn);
  const rds = routes(strictIn);
  const bffInput: ProxyShapeInput = { ...strictIn, role: 'bff', workload: { ...workload, id: 'bff' } };
  const outboundHttp = listeners(bffInput).find((l) => l.name === '0.0.0.0_8080')!;
  const outboundRoutes = routes(bffInput)['8080'];
  const svcVhost = (outboundRoutes.virtual_hosts as Json[]).find((v) => v.name === `${svcHost}:8080`)!;
  const catalogListeners: Json[] = [];
  const catalogVhosts: Json[] = [];
  catalog().forEach((s, i) => {
    const rename = <T>(x: T): T => swap(swap(swap(x, svcHost, s.host), `spiffe://cluster.local/ns/${SVC_WORKLOAD.namespace}/sa/${SVC_WORKLOAD.serviceAccount}`, `spiffe://cluster.local/ns/${s.namespace}/sa/${s.name}`), addresses.svcVip, s.vip);
    const c = rename(svcCluster);
    ((c.metadata as Json).filter_metadata as { istio: { services: Json[] } }).istio.services = [{ host: s.host, name: s.name, namespace: s.namespace }];
    cds.push(c);
    const name = String(c.name);
    const pods = Array.from({ length: 1 + (i % 3) }, (_, k) => lbEndpoint(`10.244.${(i >> 6) & 255}.${((i & 63) << 2) + k + 1}`, s.port, `${s.name}-v1;${s.namespace};${s.name};v1;Kubernetes`, true));
    // Envoy opens one inotify instance per watched xDS file (the machine allows 128 per user), so
    // the catalog's endpoints come inline with CDS (a STATIC cluster; Envoy still dumps them in
    // dynamic_endpoint_configs, as for any cluster added by xDS) instead of one EDS file each.
    delete c.eds_cluster_config;
    c.type = 'STATIC';
    c.load_assignment = dynamicEndpointConfig(name, pods).endpoint_config as Json;
    delete (c.load_assignment as Json)['@type'];
    const l = rename(outboundHttp);
    l.name = `${s.vip}_${s.port}`;
    // One listener per ClusterIP (as Istio's TCP outbound listeners): bound to nothing, matched by original destination.
    ((l.address as Json).socket_address as Json).address = s.vip;
    l.stat_prefix = l.name;
    l.bind_to_port = false;
    catalogListeners.push(l);
    // Istio's domains per service: FQDN, name.namespace, name, ClusterIP, each with and without the port.
    const short = `${SVC_WORKLOAD.name}.${SVC_WORKLOAD.namespace}`;
    const vhost = rename(svcVhost);
    vhost.domains = (vhost.domains as string[]).map((d) => {
      const [h, p] = d.split(':');
      const mapped = h === short ? `${s.name}.${s.namespace}` : h === SVC_WORKLOAD.name ? s.name : h;
      return p ? `${mapped}:${p}` : mapped;
    });
    catalogVhosts.push(vhost);
  });
  const outboundRoute = { ...outboundRoutes, virtual_hosts: [...(outboundRoutes.virtual_hosts as Json[]).slice(0, -1), ...catalogVhosts, (outboundRoutes.virtual_hosts as Json[]).at(-1)] };
  if (!gateway) rds['8080'] = outboundRoute;

  let lds: Json[];
  const credentials: Record<string, string> = {};
  if (gateway) {
    // One SNI chain per credential of the plan, copied from the generator's chain for its credential.
    const plan = planFleet(20, 1);
    const creds = plan.gatewayCredentials.filter((c) => c.gatewayApi === (t.role === 'gateway-api'));
    const generated = listeners(strictIn)[0];
    const chain = chainsOf(generated)[0];
    const port = t.role === 'gateway-api' ? 443 : 8443;
    const listener = swap(generated, '0.0.0.0_8443', `0.0.0.0_${port}`);
    (((listener.address as Json).socket_address) as Json).port_value = port;
    const generatedSds = `kubernetes://${GATEWAY_CREDENTIAL}`;
    listener.filter_chains = creds.map((c) => {
      const renamed = swap(swap(chain, xds.files.sds(generatedSds), xds.files.sds(c.sdsName)), generatedSds, c.sdsName);
      return swap(swap(renamed, PUBLIC_HOST, c.host), '0.0.0.0_8443', `0.0.0.0_${port}`);
    });
    // A gateway has no outbound listeners (only its servers), but every cluster of the mesh.
    lds = [listener];
    const ca = await createRootCa('mesh-verify lab external CA', { organization: 'mesh-verify external' });
    for (const c of creds) {
      if (c.dnsSans === null) {
        // The Secret is missing: istiod answers the SDS request without the resource; Envoy keeps the secret warming.
        xds.put('sds', xds.files.sds(c.sdsName), []);
        continue;
      }
      const cert = await issueCertificate(ca, { commonName: c.dnsSans[0], dnsSans: c.dnsSans, notAfterMs: c.expiresInDays * DAY + 12 * 3600_000, clientAuth: false });
      credentials[c.sdsName] = cert.chainPem;
      xds.put('sds', xds.files.sds(c.sdsName), [tlsSecret(c.sdsName, cert.chainPem, cert.keyPem)]);
    }
    for (const [name, rc] of Object.entries(rds)) xds.put('rds', xds.files.rds(name), [rc]);
  } else {
    const strict = listeners(strictIn).find((l) => l.name === 'virtualInbound')!;
    const permissive = listeners(input('PERMISSIVE')).find((l) => l.name === 'virtualInbound')!;
    const outbound = listeners(strictIn).find((l) => l.name === 'virtualOutbound')!;
    const http = clone(outboundHttp);
    http.bind_to_port = false;
    lds = [outbound, inboundListener(strict, permissive, t), http, ...catalogListeners];
    for (const port of t.ports.filter((p) => p !== 8080)) {
      const inbound = cds.find((c) => c.name === 'inbound|8080||')!;
      const copy = swap(inbound, 'inbound|8080||', `inbound|${port}||`);
      cds.push(copy);
    }
    for (const [name, rc] of Object.entries(rds)) xds.put('rds', xds.files.rds(name), [rc]);
  }
  for (const [name, cla] of Object.entries(eds)) xds.put('eds', xds.files.eds(name), [cla]);
  xds.put('cds', xds.files.cds, cds);
  if (t.listenerError) {
    // The LDS update with a listener Envoy rejects: two chains with the same (empty) match.
    const tcp = (cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: cluster, cluster } });
    lds.push({
      '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: REJECTED_LISTENER,
      address: { socket_address: { address: '0.0.0.0', port_value: 9411 } }, bind_to_port: false, traffic_direction: 'OUTBOUND',
      filter_chains: [{ filters: [tcp('PassthroughCluster')] }, { filters: [tcp('PassthroughCluster')] }],
    });
  }
  xds.put('lds', xds.files.lds, lds);
  writeFileSync(join(dir, 'bootstrap.json'), JSON.stringify(bootstrap(strictIn), null, 1));
  // In a pod sandbox of its own (src/lab/pod-network.ts), as the lab runs its proxies: admin on the pod's 127.0.0.1:15000.
  const sandbox = await net.addPod(`record/${t.key}`, podIp);
  const envoy = await startEnvoy({ name: podName, binary: envoyPath, dir, adminHost: '127.0.0.1', adminPort: 15000, sandbox: { enter: (argv) => net.enter(sandbox, argv), connect: (h, port) => net.connect(sandbox, h, port), gid: 1337 } });
  try {
    // Wait until the last LDS version is applied (or rejected) and every listener is in the dump.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const stats = (await envoy.admin('/stats?filter=^listener_manager\\.lds\\.update_')).body;
      const n = (k: string) => Number(new RegExp(`listener_manager\\.lds\\.${k}: (\\d+)`).exec(stats)?.[1] ?? 0);
      if (n('update_success') + n('update_rejected') >= 1) break;
      if (Date.now() > deadline) throw new Error(`${t.key}: Envoy applied no LDS update in 15 s: ${envoy.log().slice(-600)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // RDS arrives after the listeners (Envoy starts a listener's route subscription when it initialises it).
    const routeCount = Object.keys(rds).length;
    for (;;) {
      const r = await envoy.admin('/config_dump?resource=dynamic_route_configs');
      const n = r.status === 200 ? ((JSON.parse(r.body) as { configs?: unknown[] }).configs ?? []).length : 0;
      if (n >= routeCount) break;
      if (Date.now() > deadline) throw new Error(`${t.key}: Envoy has ${n} of ${routeCount} route configurations after 15 s: ${envoy.log().slice(-600)}`);
      await new Promise((r2) => setTimeout(r2, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    const at = join(out, t.key);
    rmSync(at, { recursive: true, force: true });
    mkdirSync(at, { recursive: true });
    const get = async (path: string): Promise<RecordedAnswer> => envoy.admin(path);
    const must = async (path: string): Promise<string> => {
      const r = await get(path);
      if (r.status !== 200) throw new Error(`${t.key}: GET ${path} answered ${r.status}: ${r.body.slice(0, 200)}`);
      return r.body;
    };
    const files: Record<string, string> = {
      [RECORDED_FILES.configDump]: await must('/config_dump?include_eds'),
      [RECORDED_FILES.stats]: await must('/stats'),
      [RECORDED_FILES.statsJson]: await must('/stats?format=json'),
      [RECORDED_FILES.certs]: await must('/certs'),
      [RECORDED_FILES.clusters]: await must('/clusters?format=json'),
      [RECORDED_FILES.clustersText]: await must('/clusters'),
      [RECORDED_FILES.serverInfo]: await must('/server_info'),
    };
    if (QUERY_TEMPLATES.includes(t.key)) {
      const queries: Record<string, RecordedAnswer> = {};
      for (const q of QUERIES) if (q !== '/config_dump' || t.key === QUERY_TEMPLATES[0]) queries[q] = await get(q);
      files[RECORDED_FILES.queries] = JSON.stringify(queries, null, 1);
    }
    const serverInfo = JSON.parse(files[RECORDED_FILES.serverInfo]) as { version: string };
    const context: RecordedContext = {
      key: t.key, envoyVersion: /\/(\d+\.\d+\.\d+[^/]*)\//.exec(serverInfo.version)?.[1] ?? 'unknown', istioVersion: pinnedVersions().istio,
      podName, namespace: workload.namespace, app: gateway && t.role === 'gateway' ? 'istio-ingressgateway' : workload.name, serviceAccount: workload.serviceAccount, podIp,
      chainPem: identity.chainPem, rootPem: identity.rootPem, credentials,
    };
    files[RECORDED_FILES.context] = JSON.stringify(context, null, 1);
    for (const [name, text] of Object.entries(files)) {
      // Envoy redacts private keys in its dumps; a recording that holds one is refused.
      if (/PRIVATE KEY/.test(text) || (name !== RECORDED_FILES.context && [identity.keyPem].some((k) => text.includes(k.split('\n')[1])))) throw new Error(`${t.key}: ${name} holds a private key`);
      // The answers as Envoy sent them, gzip-compressed (a fleet of templates stays a few MB); context.json as text.
      if (name === RECORDED_FILES.context) writeFileSync(join(at, name), `${text}\n`);
      else writeFileSync(join(at, `${name}.gz`), gzipSync(text, { level: 9 }));
    }
    return { spec: t, dir: at };
  } finally {
    await envoy.stop();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const explicit = args.includes('--envoy') ? args[args.indexOf('--envoy') + 1] : undefined;
  const envoyPath = findEnvoy(explicit).path;
  const version = /\/(\d+\.\d+\.\d+[^/]*)\//.exec(spawnSync(envoyPath, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  if (!version) throw new Error(`${envoyPath} --version printed no version`);
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const out = join(repo, 'fixtures', 'envoy', `real-${version}`, 'fleet');
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'mesh-verify-record-fleet-'));
  const started = Date.now();
  let stopNet = async (): Promise<void> => {};
  try {
    const range = await reservePodCidr(FLEET_TEMPLATES.length + 100, podCidrFor);
    const cidr = range.cidr;
    const base = cidr.replace(/\.0\/\d+$/, '');
    const net = await PodNetwork.create(cidr);
    stopNet = async () => { await net.stop(); range.release(); };
    process.chdir(work);
    const pki = await createLabPki();
    const done: Recording[] = [];
    // --only KEY: re-record one template (PROVENANCE.md then lists only it; record all before committing).
    const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
    const chosen = FLEET_TEMPLATES.filter((t) => !only || t.key === only);
    if (chosen.length === 0) throw new Error(`--only ${only}: no such template (${FLEET_TEMPLATES.map((t) => t.key).join(', ')})`);
    // Two Envoys at a time: the machine's cores are shared.
    for (let i = 0; i < chosen.length; i += 2) {
      const batch = chosen.slice(i, i + 2).map((t, k) => recordOne(t, i + k, base, net, envoyPath, out, pki));
      for (const r of await Promise.all(batch)) {
        done.push(r);
        console.log(`recorded ${r.spec.key} -> ${relative(repo, r.dir)}`);
      }
    }
    const date = new Date().toISOString().slice(0, 10);
    writeFileSync(join(out, 'PROVENANCE.md'), [
      '# Recorded Envoy admin answers of the audit\'s scale fleet',
      '',
      `Envoy: ${version} (from /server_info \`version\` of each recording), the pinned release (fixtures/istio/versions.json).`,
      `Command: \`npm run fixtures:fleet\` (scripts/record-fleet-answers.ts). Date: ${date}.`,
      '',
      'Each directory is one real Envoy process configured with the lab\'s Istio-shaped xDS',
      '(src/lab/istio-shape, watched files; see the script\'s header for what it derives from the',
      'generators\' output) and certificates from a lab CA (src/lab/lab-pki.ts, src/pki/ca.ts),',
      'and holds what its admin answered, unedited (gzip-compressed: `<file>.gz`):',
      '',
      '| file | request |',
      '|---|---|',
      ...Object.entries(RECORDED_FILES).filter(([k]) => k !== 'context' && k !== 'queries').map(([, f]) => `| \`${f}\` | ${f === 'config_dump.json' ? '`/config_dump?include_eds`' : f === 'clusters.json' ? '`/clusters?format=json`' : f === 'clusters.txt' ? '`/clusters`' : f === 'stats.json' ? '`/stats?format=json`' : `\`/${f.replace(/\.(json|txt)$/, '')}\``} |`),
      '| `queries.json` | (three templates) the audit\'s queries, path -> status and body, to check src/lab/scale/config-dump-query.ts |',
      '| `context.json` | written by the script: the identity, pod address and PEMs it configured (what the fleet substitutes per pod) |',
      '',
      'Private keys: Envoy answers `[redacted]` for them; the script refuses a recording holding one.',
      '',
      '| template | ports | inbound mode per port (catch-all first) | rejected listener |',
      '|---|---|---|---|',
      ...done.map((r) => `| \`${r.spec.key}\` | ${r.spec.ports.join(', ') || '-'} | ${r.spec.modes.join(', ') || '-'} | ${r.spec.listenerError ? 'yes' : 'no'} |`),
      '',
    ].join('\n'));
    console.log(`recorded ${done.length} templates from Envoy ${version} in ${Date.now() - started} ms`);
    if (args.includes('--keep')) console.log(`Envoy's files and logs are kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  } catch (err) {
    console.error(`Envoy's files and logs are kept in ${work}`);
    throw err;
  } finally {
    await stopNet();
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error((err as Error).stack ?? String(err)); process.exit(1); });
