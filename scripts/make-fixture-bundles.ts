/**
 * Generates fixtures/bundles/*.bundle.json: evidence bundles of the reference path, one healthy
 * run plus one per fault, built from real certificates (src/pki/ca.ts) and small Istio-shaped
 * admin captures modelled on the real ones in the team's reference captures (config_dump sections
 * by `@type`, auto mTLS through `transport_socket_matches`, `virtualInbound` filter chains, SDS
 * secrets `default` / `ROOTCA` / `kubernetes://<credentialName>`, EDS `tlsMode` metadata).
 *
 *   npx tsx scripts/make-fixture-bundles.ts [outDir]
 *
 * Reading guide: `World` describes one run (what the mesh did); HEALTHY is the healthy run and
 * FAULTS are small transformations of it; the `render*` functions turn a World into the admin
 * captures, access-log lines, app echoes and client handshake a collector would have recorded.
 * Certificates are valid for ten years from FIXTURE_NOW except where a fault needs otherwise;
 * tests pass `now = run.startedAt`, so nothing rots.
 *
 * Shapes of current Istio (the pinned release, fixtures/istio/versions.json):
 *  - clusters Istio builds carry alt_stat_name `<name>;` (Istio >= 1.23; istio
 *    pilot/pkg/networking/core/cluster_builder.go at 1.30.3), so their stats are
 *    `cluster.<name>;.*`; the access log logs %UPSTREAM_CLUSTER_RAW% (the name without `;`);
 *  - the gateway replaces the probe's x-request-id with a new UUID (use_remote_address true, no
 *    preserve_external_request_id, Envoy >= 1.33: no internal addresses by default); every hop
 *    logs and sees that UUID, and our own x-mesh-verify-id (logged as mesh_verify_id).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRootCa, issueCertificate, certSha256Hex, type Authority, type IssuedCert } from '../src/pki/ca.js';
import { referencePathSpec } from '../src/topology/path-spec.js';
import {
  APP_PORT, BFF_WORKLOAD, GATEWAY_CREDENTIAL, GATEWAY_HTTPS_TARGET_PORT, GATEWAY_WORKLOAD, KIND_HOST_PORT, PUBLIC_HOST,
  SVC_WORKLOAD, outboundCluster, serviceFqdn, type Workload,
} from '../src/topology/reference.js';
import { describeCertificate } from '../src/probe/chain.js';
import { saveBundle } from '../src/bundle/save.js';
import { LAB_FAULTS, type LabFault, type MeshState } from '../src/lab/types.js';
import { meshStateForFault } from '../src/lab/dataplane/fault-state.js';
import { RAW_BUFFER, gatewayDownstreamTls, istioDownstreamTls, istioUpstreamTls, xdsUpstreamTls } from '../src/lab/dataplane/tls-config.js';
import { TOOL_NAME, VERSION } from '../src/version.js';
import { readFixture } from '../src/topology/fixture-files.js';
import { requestIdFor } from '../src/probe/probe.js';
import { withRequestIdTrails } from '../src/collect/request-ids.js';
import type {
  AdminText, AppEcho, ClientObservation, EvidenceBundle, ProxyCapture, RequestRecord,
} from '../src/bundle/types.js';

export const FIXTURE_NOW = new Date('2026-03-02T10:00:00.000Z');
const DAY = 24 * 3600_000;
const TEN_YEARS = 3650 * DAY;
const REQUESTS = 5;
const PINS = JSON.parse(readFixture('istio', 'versions.json')) as { istio: string; istioProxyEnvoy: string };
const ISTIO_VERSION = PINS.istio;
/** The Envoy of the pinned Istio's istio/proxy, e.g. '1.38.4-dev'. */
const ENVOY_VERSION = PINS.istioProxyEnvoy;
const [ENVOY_MAJOR, ENVOY_MINOR, ENVOY_PATCH] = ENVOY_VERSION.split(/[.-]/).map(Number);

/** Istio's alt_stat_name for a cluster it builds (util.DelimitedStatsPrefix): stats are `cluster.<name>;.*`. */
const statName = (clusterName: string): string => `${clusterName};`;

// ---------------------------------------------------------------------------------------------
// The world of one run
// ---------------------------------------------------------------------------------------------

/**
 * One run: the mesh as the lab's "istiod" would have set it up for a fault (MeshState, shared
 * with the lab through meshStateForFault, so fixtures and lab mean the same by each fault name),
 * plus what the collector managed to record.
 */
interface World extends MeshState {
  name: string;
  fault: LabFault | null;
  description: string;
  /** Access logging on (mesh config accessLogFile + JSON format); istio_requests_total scraped; app answers recorded. */
  accessLogs: boolean;
  prometheus: boolean;
  echoes: boolean;
}

const RECORDED = { accessLogs: true, prometheus: true, echoes: true };

const DESCRIPTIONS: Record<LabFault, string> = {
  'plaintext-gateway-bff': 'DestinationRule tls.mode DISABLE for bff: the gateway sends plaintext; bff is PERMISSIVE',
  'permissive-svc': 'svc is PERMISSIVE and a workload without a sidecar calls it in plaintext',
  'no-sidecar-svc': 'svc runs without an istio-proxy: bff\'s sidecar sends it plaintext',
  'expired-cert': 'svc\'s workload certificate expired a day before the run',
  'foreign-root': 'svc\'s workload certificate was issued by another root CA',
  'nlb-terminates-tls': 'the NLB terminates TLS with its own certificate and re-originates TLS to the gateway',
  'stats-filtered': 'Istio\'s default stats inclusion (no data-plane ssl.* stats), no access logs, no telemetry scrape, app answers not recorded: only config evidence',
};

const HEALTHY: World = {
  ...meshStateForFault(null), ...RECORDED, name: 'healthy', fault: null,
  description: 'the reference path, healthy: STRICT mTLS on both mesh hops',
};

/** One world per lab fault; stats-filtered also records nothing but config, so only config evidence exists. */
const FAULTS: World[] = LAB_FAULTS.map((fault) => ({
  ...meshStateForFault(fault), ...RECORDED, name: fault, fault, description: DESCRIPTIONS[fault],
  ...(fault === 'stats-filtered' ? { accessLogs: false, prometheus: false, echoes: false } : {}),
}));

/** What the world implies for the bff -> svc hop. */
function bffToSvc(w: World): 'mtls' | 'plaintext' | 'handshake-fails' {
  if (!w.svcSidecar) return 'plaintext';
  return w.svcCert === 'valid' ? 'mtls' : 'handshake-fails';
}

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

interface Pki {
  meshRoot: Authority;
  foreignRoot: Authority;
  externalCa: Authority;
  gatewayCredential: IssuedCert;
  nlbCert: IssuedCert;
  workload: Record<'gateway' | 'bff' | 'svc' | 'svcExpired' | 'svcForeign', IssuedCert>;
}

async function makePki(): Promise<Pki> {
  const now = FIXTURE_NOW;
  const meshRoot = await createRootCa('mesh-verify fixture mesh root', { organization: 'cluster.local', now, notAfterMs: 2 * TEN_YEARS });
  const foreignRoot = await createRootCa('foreign root', { organization: 'elsewhere', now, notAfterMs: 2 * TEN_YEARS });
  const externalCa = await createRootCa('mesh-verify fixture external CA', { now, notAfterMs: 2 * TEN_YEARS });
  const wl = (ca: Authority, w: Workload, notAfterMs = TEN_YEARS, notBeforeMs = -3600_000) =>
    issueCertificate(ca, { uriSans: [w.spiffeId], now, notAfterMs, notBeforeMs });
  return {
    meshRoot, foreignRoot, externalCa,
    gatewayCredential: await issueCertificate(externalCa, { commonName: PUBLIC_HOST, dnsSans: [PUBLIC_HOST], now, notAfterMs: TEN_YEARS, clientAuth: false }),
    nlbCert: await issueCertificate(externalCa, { commonName: `nlb.${PUBLIC_HOST}`, dnsSans: [PUBLIC_HOST], now, notAfterMs: TEN_YEARS, clientAuth: false }),
    workload: {
      gateway: await wl(meshRoot, GATEWAY_WORKLOAD),
      bff: await wl(meshRoot, BFF_WORKLOAD),
      svc: await wl(meshRoot, SVC_WORKLOAD),
      svcExpired: await wl(meshRoot, SVC_WORKLOAD, -DAY, -31 * DAY),
      svcForeign: await wl(foreignRoot, SVC_WORKLOAD),
    },
  };
}

function svcCertOf(w: World, pki: Pki): IssuedCert {
  return w.svcCert === 'expired' ? pki.workload.svcExpired : w.svcCert === 'foreign-root' ? pki.workload.svcForeign : pki.workload.svc;
}

// ---------------------------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------------------------

interface Pod { workload: Workload; name: string; ip: string; cert: () => IssuedCert }
const NLB_ADDRESS = '10.244.0.1';
const SVC_CLUSTER_IP = '10.96.112.40';

function podsOf(w: World, pki: Pki): Record<'gateway' | 'bff' | 'svc', Pod> {
  return {
    gateway: { workload: GATEWAY_WORKLOAD, name: 'istio-ingressgateway-7c9d8f6b5-q4wzl', ip: '10.244.0.10', cert: () => pki.workload.gateway },
    bff: { workload: BFF_WORKLOAD, name: 'bff-6d4c7b9f8-x2x9q', ip: '10.244.0.11', cert: () => pki.workload.bff },
    svc: { workload: SVC_WORKLOAD, name: 'svc-5f7b8c9d4-k8m2p', ip: '10.244.0.12', cert: () => svcCertOf(w, pki) },
  };
}

// ---------------------------------------------------------------------------------------------
// Config dump sections (Istio-shaped)
// ---------------------------------------------------------------------------------------------

const T = 'type.googleapis.com/';
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const at = (ms = 0): string => new Date(FIXTURE_NOW.getTime() - 3600_000 + ms).toISOString();
function hcm(statPrefix: string, inbound: boolean) {
  const config: Record<string, unknown> = {
    '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
    stat_prefix: statPrefix, use_remote_address: !inbound,
  };
  if (inbound) {
    config.forward_client_cert_details = 'APPEND_FORWARD';
    config.set_current_client_cert_details = { subject: true, dns: true, uri: true };
  } else {
    config.forward_client_cert_details = 'SANITIZE_SET';
  }
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: config };
}

function listener(name: string, address: string, port: number, filterChains: unknown[]) {
  return {
    name,
    active_state: {
      version_info: at(),
      listener: { '@type': `${T}envoy.config.listener.v3.Listener`, name, address: { socket_address: { address, port_value: port } }, filter_chains: filterChains },
      last_updated: at(1000),
    },
  };
}

/** `virtualInbound` with Istio's chains for one port: mTLS always, plaintext too when PERMISSIVE. */
function virtualInbound(port: number, mode: 'STRICT' | 'PERMISSIVE') {
  const match = (transport: string, alpn?: string[]) => ({ destination_port: port, transport_protocol: transport, ...(alpn ? { application_protocols: alpn } : {}) });
  const chains: unknown[] = [
    { filter_chain_match: match('tls', ['istio-http/1.0', 'istio-http/1.1', 'istio-h2']), name: `0.0.0.0_${port}`,
      transport_socket: istioDownstreamTls(['h2', 'http/1.1']), filters: [{ name: 'istio.metadata_exchange' }, hcm(`inbound_0.0.0.0_${port}`, true)] },
  ];
  if (mode === 'PERMISSIVE') {
    chains.push({ filter_chain_match: match('raw_buffer', ['http/1.1', 'h2c']), name: `0.0.0.0_${port}`, filters: [{ name: 'istio.metadata_exchange' }, hcm(`inbound_0.0.0.0_${port}`, true)] });
  }
  return listener('virtualInbound', '0.0.0.0', 15006, chains);
}

/** A cluster as Istio builds it (with its `;` alt_stat_name); `static` for bootstrap clusters such as xds-grpc. */
function cluster(name: string, body: Record<string, unknown>, kind: 'istio' | 'static' = 'istio') {
  const alt = kind === 'istio' ? { alt_stat_name: statName(name) } : {};
  return { cluster: { '@type': `${T}envoy.config.cluster.v3.Cluster`, name, ...alt, connect_timeout: '10s', ...body }, last_updated: at(2000) };
}

function xdsGrpc() {
  return cluster('xds-grpc', {
    type: 'STRICT_DNS',
    load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'istiod.istio-system.svc', port_value: 15012 } } } }] }] },
    transport_socket: xdsUpstreamTls(),
  }, 'static');
}

function outboundAutoMtls(port: number, host: string, san: string) {
  const name = outboundCluster(port, host);
  return cluster(name, {
    type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, service_name: name },
    metadata: { filter_metadata: { istio: { services: [{ host, name: host.split('.')[0], namespace: host.split('.')[1] }] } } },
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioUpstreamTls(port, host, san) },
      { name: 'tlsMode-disabled', match: {}, transport_socket: RAW_BUFFER },
    ],
  });
}

/** A DestinationRule with tls.mode DISABLE: Istio builds the cluster with no transport socket. */
function outboundPlain(port: number, host: string) {
  const name = outboundCluster(port, host);
  return cluster(name, {
    type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, service_name: name },
    metadata: { filter_metadata: { istio: { config: `/apis/networking.istio.io/v1/namespaces/${host.split('.')[1]}/destination-rule/${host.split('.')[0]}-disable-tls` } } },
  });
}

function inboundCluster(port: number, pod: Pod) {
  return cluster(`inbound|${port}||`, {
    type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } },
    metadata: { filter_metadata: { istio: { services: [{ host: serviceFqdn(pod.workload.name, pod.workload.namespace), name: pod.workload.name, namespace: pod.workload.namespace }] } } },
  });
}

function endpoints(clusterName: string, ip: string, port: number, tlsModeIstio: boolean) {
  const filterMetadata: Record<string, unknown> = { istio: { workload: `${clusterName.split('|')[3].split('.')[0]};${clusterName.split('|')[3].split('.')[1]};;;Kubernetes` } };
  if (tlsModeIstio) filterMetadata['envoy.transport_socket_match'] = { tlsMode: 'istio' };
  return {
    endpoint_config: {
      '@type': `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`, cluster_name: clusterName,
      endpoints: [{ locality: {}, lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: port } } }, health_status: 'HEALTHY', metadata: { filter_metadata: filterMetadata }, load_balancing_weight: 1 }] }],
    },
  };
}

function certSecret(name: string, cert: IssuedCert) {
  return {
    name, version_info: at(), last_updated: at(3000),
    secret: {
      '@type': `${T}envoy.extensions.transport_sockets.tls.v3.Secret`, name,
      // Envoy prints private keys as "[redacted]"; fixtures never hold a real key.
      tls_certificate: { certificate_chain: { inline_bytes: b64(cert.chainPem) }, private_key: { inline_bytes: b64('[redacted]') } },
    },
  };
}

function rootSecret(rootPem: string) {
  return {
    name: 'ROOTCA', version_info: at(), last_updated: at(3000),
    secret: { '@type': `${T}envoy.extensions.transport_sockets.tls.v3.Secret`, name: 'ROOTCA', validation_context: { trusted_ca: { inline_bytes: b64(rootPem) } } },
  };
}

function configDump(pod: Pod, type: 'router' | 'sidecar', parts: { listeners: unknown[]; clusters: unknown[]; endpoints: unknown[]; secrets: unknown[] }) {
  const ns = pod.workload.namespace;
  return {
    configs: [
      { '@type': `${T}envoy.admin.v3.BootstrapConfigDump`, bootstrap: {
        node: {
          id: `${type}~${pod.ip}~${pod.name}.${ns}~${ns}.svc.cluster.local`, cluster: `${pod.workload.name}.${ns}`,
          metadata: { ISTIO_VERSION, NAMESPACE: ns, NAME: pod.name, SERVICE_ACCOUNT: pod.workload.serviceAccount, WORKLOAD_NAME: pod.workload.name, CLUSTER_ID: 'Kubernetes' },
          user_agent_name: 'envoy', user_agent_build_version: { version: { major_number: ENVOY_MAJOR, minor_number: ENVOY_MINOR, patch: ENVOY_PATCH } },
        },
      }, last_updated: at() },
      { '@type': `${T}envoy.admin.v3.ClustersConfigDump`, version_info: at(), static_clusters: [xdsGrpc()], dynamic_active_clusters: parts.clusters },
      { '@type': `${T}envoy.admin.v3.EndpointsConfigDump`, dynamic_endpoint_configs: parts.endpoints },
      { '@type': `${T}envoy.admin.v3.ListenersConfigDump`, version_info: at(), dynamic_listeners: parts.listeners },
      { '@type': `${T}envoy.admin.v3.SecretsConfigDump`, dynamic_active_secrets: parts.secrets },
    ],
  };
}

function gatewayDump(w: World, pki: Pki, pods: ReturnType<typeof podsOf>) {
  const bffHost = serviceFqdn(BFF_WORKLOAD.name, BFF_WORKLOAD.namespace);
  const bffCluster = outboundCluster(APP_PORT, bffHost);
  const chain = {
    filter_chain_match: { server_names: [PUBLIC_HOST] },
    transport_socket: gatewayDownstreamTls(GATEWAY_CREDENTIAL),
    filters: [hcm(`outbound_0.0.0.0_${GATEWAY_HTTPS_TARGET_PORT}`, false)],
  };
  return configDump(pods.gateway, 'router', {
    listeners: [listener(`0.0.0.0_${GATEWAY_HTTPS_TARGET_PORT}`, '0.0.0.0', GATEWAY_HTTPS_TARGET_PORT, [chain])],
    clusters: [w.gatewayToBff === 'mtls' ? outboundAutoMtls(APP_PORT, bffHost, BFF_WORKLOAD.spiffeId) : outboundPlain(APP_PORT, bffHost)],
    endpoints: [endpoints(bffCluster, pods.bff.ip, APP_PORT, true)],
    secrets: [certSecret(`kubernetes://${GATEWAY_CREDENTIAL}`, pki.gatewayCredential), certSecret('default', pods.gateway.cert()), rootSecret(pki.meshRoot.certPem)],
  });
}

function sidecarDump(w: World, pki: Pki, pods: ReturnType<typeof podsOf>, which: 'bff' | 'svc') {
  const pod = pods[which];
  const svcHost = serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace);
  const outbound = which === 'bff' ? [outboundAutoMtls(APP_PORT, svcHost, SVC_WORKLOAD.spiffeId)] : [];
  const eds = which === 'bff' ? [endpoints(outboundCluster(APP_PORT, svcHost), pods.svc.ip, APP_PORT, w.svcSidecar)] : [];
  return configDump(pod, 'sidecar', {
    listeners: [
      virtualInbound(APP_PORT, w.inbound[which]),
      listener('virtualOutbound', '0.0.0.0', 15001, [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'PassthroughCluster', cluster: 'PassthroughCluster' } }] }]),
    ],
    clusters: [inboundCluster(APP_PORT, pod), ...outbound],
    endpoints: eds,
    secrets: [certSecret('default', pod.cert()), rootSecret(pki.meshRoot.certPem)],
  });
}

// ---------------------------------------------------------------------------------------------
// Stats and telemetry
// ---------------------------------------------------------------------------------------------

type Counters = Record<string, [before: number, after: number]>;

function statsText(c: Counters, phase: 0 | 1): string {
  return Object.keys(c).sort().map((k) => `${k}: ${c[k][phase]}`).join('\n') + '\n';
}

/** Counters of one proxy; Istio's default inclusion keeps only control-plane and server stats. */
function proxyCounters(w: World, which: 'gateway' | 'bff' | 'svc'): Counters {
  const n = REQUESTS;
  const c: Counters = {
    'cluster.xds-grpc.ssl.handshake': [1, 1], 'cluster.xds-grpc.upstream_cx_total': [1, 1], 'cluster.xds-grpc.upstream_rq_total': [1, 1],
    'cluster_manager.active_clusters': [3, 3], 'listener_manager.total_listeners_active': [2, 2], 'server.live': [1, 1],
  };
  if (!w.includeSslStats) return c;
  const bffCluster = `cluster.${statName(outboundCluster(APP_PORT, serviceFqdn(BFF_WORKLOAD.name, BFF_WORKLOAD.namespace)))}`;
  const svcCluster = `cluster.${statName(outboundCluster(APP_PORT, serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace)))}`;
  const inbound = `cluster.${statName(`inbound|${APP_PORT}||`)}`;
  if (which === 'gateway') {
    const gl = `listener.0.0.0.0_${GATEWAY_HTTPS_TARGET_PORT}`;
    // One client connection carries all requests (connection reuse): one new handshake.
    Object.assign(c, { [`${gl}.ssl.handshake`]: [12, 13], [`${gl}.downstream_cx_total`]: [12, 13] });
    // gateway -> bff rides a pooled connection opened before the run: 0 new handshakes.
    Object.assign(c, { [`${bffCluster}.upstream_cx_total`]: [3, 3], [`${bffCluster}.upstream_rq_total`]: [40, 40 + n] });
    if (w.gatewayToBff === 'mtls') {
      Object.assign(c, { [`${bffCluster}.ssl.handshake`]: [3, 3], [`${bffCluster}.tlsMode-istio.total_match_count`]: [3, 3] });
    }
  }
  if (which === 'bff' || which === 'svc') {
    Object.assign(c, { [`${inbound}.upstream_rq_total`]: [40, 40 + n], [`${inbound}.upstream_cx_total`]: [40, 40 + n] });
    Object.assign(c, { 'listener.0.0.0.0_15006.ssl.handshake': [3, which === 'svc' ? 4 : 3], 'listener.0.0.0.0_15006.downstream_cx_total': [3, which === 'svc' ? 4 : 3] });
  }
  if (which === 'svc' && w.plaintextCallerToSvc) c['listener.0.0.0.0_15006.downstream_cx_total'] = [3, 4 + n];
  if (which === 'bff') {
    const hop = bffToSvc(w);
    c[`${svcCluster}.upstream_rq_total`] = [40, 40 + n];
    c[`${svcCluster}.ssl.handshake`] = [2, hop === 'mtls' ? 3 : 2];
    c[`${svcCluster}.upstream_cx_total`] = [2, hop === 'handshake-fails' ? 2 + n : 3];
    c[`${svcCluster}.tlsMode-istio.total_match_count`] = [2, hop === 'plaintext' ? 2 : hop === 'mtls' ? 3 : 2 + n];
    c[`${svcCluster}.tlsMode-disabled.total_match_count`] = [0, hop === 'plaintext' ? 1 : 0];
    c[`${svcCluster}.ssl.fail_verify_error`] = [0, hop === 'handshake-fails' ? n : 0];
    c[`${svcCluster}.upstream_cx_connect_fail`] = [0, hop === 'handshake-fails' ? n : 0];
  }
  return c;
}

interface RequestsSeries { labels: Record<string, string>; before: number; after: number }

function requestsSeries(w: World, which: 'gateway' | 'bff' | 'svc'): RequestsSeries[] {
  const n = REQUESTS;
  const series: RequestsSeries[] = [];
  const id = (wl: Workload, principal: boolean) => ({
    workload: wl.name, namespace: wl.namespace, principal: principal ? wl.spiffeId : 'unknown', service: serviceFqdn(wl.name, wl.namespace),
  });
  const add = (reporter: string, src: ReturnType<typeof id>, dst: ReturnType<typeof id>, policy: string, code: string, flags: string, before: number, count: number) => series.push({
    labels: {
      reporter, source_workload: src.workload, source_workload_namespace: src.namespace, source_principal: src.principal,
      destination_workload: dst.workload, destination_workload_namespace: dst.namespace, destination_principal: dst.principal,
      destination_service: dst.service, destination_service_name: dst.workload, request_protocol: 'http', response_code: code,
      response_flags: flags, connection_security_policy: policy,
    },
    before, after: before + count,
  });
  const gwMtls = w.gatewayToBff === 'mtls';
  const hop = bffToSvc(w);
  if (which === 'gateway') add('source', id(GATEWAY_WORKLOAD, true), id(BFF_WORKLOAD, gwMtls), 'unknown', '200', '-', 40, n);
  if (which === 'bff') {
    add('destination', id(GATEWAY_WORKLOAD, gwMtls), id(BFF_WORKLOAD, true), gwMtls ? 'mutual_tls' : 'none', '200', '-', 40, n);
    if (hop === 'handshake-fails') add('source', id(BFF_WORKLOAD, true), id(SVC_WORKLOAD, false), 'unknown', '503', 'UF', 0, n);
    else add('source', id(BFF_WORKLOAD, true), id(SVC_WORKLOAD, hop === 'mtls'), 'unknown', '200', '-', 40, n);
  }
  if (which === 'svc' && hop === 'mtls') add('destination', id(BFF_WORKLOAD, true), id(SVC_WORKLOAD, true), 'mutual_tls', '200', '-', 40, n);
  if (which === 'svc' && w.plaintextCallerToSvc) {
    add('destination', { workload: 'legacy-client', namespace: 'legacy', principal: 'unknown', service: '' }, id(SVC_WORKLOAD, true), 'none', '200', '-', 0, n);
  }
  return series;
}

function prometheusText(series: RequestsSeries[], phase: 'before' | 'after'): string {
  const lines = ['# TYPE istio_requests_total counter'];
  for (const s of series) {
    const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`).join(',');
    if (s[phase] > 0) lines.push(`istio_requests_total{${labels}} ${s[phase]}`);
  }
  lines.push('# TYPE envoy_server_live gauge', 'envoy_server_live 1');
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Requests: ids, access-log lines, app echoes
// ---------------------------------------------------------------------------------------------

/** Our ids (x-mesh-verify-id, also sent as x-request-id), as the probe makes them. */
function requestIds(w: World): string[] {
  return Array.from({ length: REQUESTS }, (_, i) => requestIdFor(`fixture-${w.name}`, i + 1));
}

/** The UUIDs the gateway put in place of the probe's x-request-id (deterministic: version 4 shape). */
function gatewayRequestIds(w: World): string[] {
  return Array.from({ length: REQUESTS }, (_, i) => {
    const h = createHash('sha256').update(`${w.name}/${i}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  });
}

const sentAt = (i: number): string => new Date(FIXTURE_NOW.getTime() + 1000 + i * 200).toISOString();

function accessLine(fields: Record<string, string | number>): string {
  const base: Record<string, string | number> = {
    start_time: '', method: 'GET', path: '/', protocol: 'HTTP/1.1', response_code: 200, response_flags: '-', request_id: '', mesh_verify_id: '',
    authority: '', route_name: 'default', upstream_cluster: '-', upstream_host: '-', upstream_local_address: '-',
    downstream_local_address: '-', downstream_remote_address: '-', requested_server_name: '-', downstream_peer_uri_san: '-',
    downstream_local_uri_san: '-', downstream_tls_version: '-', downstream_peer_cert_sha256: '-', upstream_peer_uri_san: '-',
    upstream_tls_version: '-', upstream_transport_failure_reason: '-', duration: 3, bytes_received: 0, bytes_sent: 420,
  };
  return JSON.stringify({ ...base, ...fields });
}

const TLS_VERIFY_FAILED = 'TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end';

function accessLogs(w: World, pki: Pki, pods: ReturnType<typeof podsOf>, ids: string[], rids: string[]): Record<'gateway' | 'bff' | 'svc', string[]> {
  const out = { gateway: [] as string[], bff: [] as string[], svc: [] as string[] };
  if (!w.accessLogs) return out;
  const bffHost = serviceFqdn(BFF_WORKLOAD.name, BFF_WORKLOAD.namespace);
  const svcHost = serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace);
  const gwMtls = w.gatewayToBff === 'mtls';
  const hop = bffToSvc(w);
  const gwSha = certSha256Hex(pods.gateway.cert().certPem);
  const bffSha = certSha256Hex(pods.bff.cert().certPem);
  ids.forEach((ours, i) => {
    const start = sentAt(i);
    // Every hop logs the gateway's x-request-id and our x-mesh-verify-id.
    const id = rids[i];
    const mv = { mesh_verify_id: ours };
    out.gateway.push(accessLine({
      ...mv, start_time: start, protocol: 'HTTP/2', request_id: id, authority: PUBLIC_HOST, upstream_cluster: outboundCluster(APP_PORT, bffHost),
      upstream_host: `${pods.bff.ip}:${APP_PORT}`, upstream_local_address: `${pods.gateway.ip}:4${1200 + i}`,
      downstream_local_address: `${pods.gateway.ip}:${GATEWAY_HTTPS_TARGET_PORT}`, downstream_remote_address: `${NLB_ADDRESS}:3${3210}`,
      requested_server_name: PUBLIC_HOST, downstream_tls_version: 'TLSv1.3',
      upstream_peer_uri_san: gwMtls ? BFF_WORKLOAD.spiffeId : '-', upstream_tls_version: gwMtls ? 'TLSv1.3' : '-',
      duration: 9,
    }));
    out.bff.push(accessLine({
      ...mv, start_time: start, request_id: id, authority: PUBLIC_HOST, route_name: 'default', upstream_cluster: `inbound|${APP_PORT}||`,
      upstream_host: `${pods.bff.ip}:${APP_PORT}`, upstream_local_address: `127.0.0.6:5${1100 + i}`,
      downstream_local_address: `${pods.bff.ip}:${APP_PORT}`, downstream_remote_address: `${pods.gateway.ip}:4${1200 + i}`,
      requested_server_name: gwMtls ? `outbound_.${APP_PORT}_._.${bffHost}` : '-',
      downstream_peer_uri_san: gwMtls ? GATEWAY_WORKLOAD.spiffeId : '-', downstream_local_uri_san: gwMtls ? BFF_WORKLOAD.spiffeId : '-',
      downstream_tls_version: gwMtls ? 'TLSv1.3' : '-', downstream_peer_cert_sha256: gwMtls ? gwSha : '-', duration: 7,
    }));
    const failed = hop === 'handshake-fails';
    out.bff.push(accessLine({
      ...mv, start_time: start, request_id: id, authority: `${svcHost}:${APP_PORT}`, upstream_cluster: outboundCluster(APP_PORT, svcHost),
      response_code: failed ? 503 : 200, response_flags: failed ? 'UF' : '-', upstream_host: `${pods.svc.ip}:${APP_PORT}`,
      upstream_local_address: failed ? '-' : `${pods.bff.ip}:3${4400 + i}`,
      downstream_local_address: `${SVC_CLUSTER_IP}:${APP_PORT}`, downstream_remote_address: `${pods.bff.ip}:4${5500 + i}`,
      upstream_peer_uri_san: hop === 'mtls' ? SVC_WORKLOAD.spiffeId : '-', upstream_tls_version: hop === 'mtls' ? 'TLSv1.3' : '-',
      upstream_transport_failure_reason: failed ? TLS_VERIFY_FAILED : '-', bytes_sent: failed ? 91 : 420, duration: failed ? 1 : 4,
    }));
    if (hop === 'mtls') {
      out.svc.push(accessLine({
        ...mv, start_time: start, request_id: id, authority: `${svcHost}:${APP_PORT}`, upstream_cluster: `inbound|${APP_PORT}||`,
        upstream_host: `${pods.svc.ip}:${APP_PORT}`, upstream_local_address: `127.0.0.6:5${2200 + i}`,
        downstream_local_address: `${pods.svc.ip}:${APP_PORT}`, downstream_remote_address: `${pods.bff.ip}:3${4400 + i}`,
        requested_server_name: `outbound_.${APP_PORT}_._.${svcHost}`, downstream_peer_uri_san: BFF_WORKLOAD.spiffeId,
        downstream_local_uri_san: SVC_WORKLOAD.spiffeId, downstream_tls_version: 'TLSv1.3', downstream_peer_cert_sha256: bffSha, duration: 2,
      }));
    }
  });
  void pki;
  return out;
}

function xfcc(by: string, callerPem: string, callerId: string): string {
  return `By=${by};Hash=${certSha256Hex(callerPem)};Subject="";URI=${callerId}`;
}

/** The apps' answers: the x-request-id they saw is the gateway's (`id`), and our header came through. */
function echoes(w: World, pods: ReturnType<typeof podsOf>, ours: string, id: string): AppEcho {
  const svcHost = serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace);
  const hop = bffToSvc(w);
  const svcHeaders: Record<string, string> = { host: `${svcHost}:${APP_PORT}`, 'x-mesh-verify-id': ours, 'x-request-id': id, 'x-forwarded-proto': 'http', 'x-envoy-attempt-count': '1' };
  if (hop === 'mtls') svcHeaders['x-forwarded-client-cert'] = xfcc(SVC_WORKLOAD.spiffeId, pods.bff.cert().certPem, BFF_WORKLOAD.spiffeId);
  else svcHeaders['x-envoy-peer-metadata-id'] = `sidecar~${pods.bff.ip}~${pods.bff.name}.mesh-verify~mesh-verify.svc.cluster.local`;
  const svcEcho: AppEcho = { service: 'svc', pod: pods.svc.name, requestId: id, meshVerifyId: ours, method: 'GET', path: '/', headers: svcHeaders };
  const bffHeaders: Record<string, string> = {
    host: PUBLIC_HOST, 'x-mesh-verify-id': ours, 'x-request-id': id, 'x-forwarded-proto': 'https', 'x-envoy-attempt-count': '1', 'user-agent': `${TOOL_NAME}/${VERSION}`,
  };
  if (w.gatewayToBff === 'mtls') bffHeaders['x-forwarded-client-cert'] = xfcc(BFF_WORKLOAD.spiffeId, pods.gateway.cert().certPem, GATEWAY_WORKLOAD.spiffeId);
  const upstream = hop === 'handshake-fails'
    ? { url: `http://${svcHost}:${APP_PORT}/`, status: 503, error: `non-JSON answer: upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: ${TLS_VERIFY_FAILED}`, body: null }
    : { url: `http://${svcHost}:${APP_PORT}/`, status: 200, error: null, body: svcEcho };
  return { service: 'bff', pod: pods.bff.name, requestId: id, meshVerifyId: ours, method: 'GET', path: '/', headers: bffHeaders, upstream };
}

// ---------------------------------------------------------------------------------------------
// The bundle
// ---------------------------------------------------------------------------------------------

function admin(request: string, body: string, contentType: 'text' | 'json', offsetMs: number): AdminText {
  return { request, contentType, body, capturedAt: new Date(FIXTURE_NOW.getTime() + offsetMs).toISOString() };
}

function capture(w: World, pod: Pod, role: 'gateway' | 'sidecar', which: 'gateway' | 'bff' | 'svc', dump: unknown, log: string[]): ProxyCapture {
  const counters = proxyCounters(w, which);
  const series = requestsSeries(w, which);
  return {
    id: pod.workload.id, role, pod: { namespace: pod.workload.namespace, name: pod.name, ip: pod.ip },
    expectedIdentity: pod.workload.spiffeId, via: 'fixture', reachable: true, errors: [],
    admin: {
      serverInfo: admin('/server_info', JSON.stringify({ version: `a3d9bdc3a36fc6cd1aa0d8a36b9b3c95d0a87e6f/${ENVOY_VERSION}/Clean/RELEASE/BoringSSL`, state: 'LIVE', uptime_current_epoch: '86400s', node: { id: `${role === 'gateway' ? 'router' : 'sidecar'}~${pod.ip}~${pod.name}.${pod.workload.namespace}~${pod.workload.namespace}.svc.cluster.local`, metadata: { ISTIO_VERSION } } }), 'json', 0),
      configDump: admin('/config_dump?include_eds', JSON.stringify(dump), 'json', 100),
      certs: null,
      clusters: null,
      statsBefore: admin('/stats', statsText(counters, 0), 'text', 200),
      statsAfter: admin('/stats', statsText(counters, 1), 'text', 3000),
      prometheusBefore: w.prometheus ? admin('/stats/prometheus', prometheusText(series, 'before'), 'text', 300) : null,
      prometheusAfter: w.prometheus ? admin('/stats/prometheus', prometheusText(series, 'after'), 'text', 3100) : null,
    },
    accessLog: log,
  };
}

function clientObservation(w: World, pki: Pki): ClientObservation {
  const leaf = w.nlbTerminatesTls ? pki.nlbCert : pki.gatewayCredential;
  const seen = describeCertificate(new X509Certificate(leaf.certPem).raw);
  if (!seen) throw new Error('cannot describe the fixture leaf certificate');
  return {
    connectedTo: { address: '127.0.0.1', port: KIND_HOST_PORT }, sni: PUBLIC_HOST, host: PUBLIC_HOST,
    tlsVersion: 'TLSv1.3', alpn: 'h2', cipher: 'TLS_AES_128_GCM_SHA256',
    peerChain: [seen],
    authorized: true, authorizationError: null, error: null,
  };
}

async function buildFixtureBundle(w: World, pki: Pki): Promise<EvidenceBundle> {
  const pods = podsOf(w, pki);
  const ids = requestIds(w);
  const rids = gatewayRequestIds(w);
  const logs = accessLogs(w, pki, pods, ids, rids);
  const proxies: ProxyCapture[] = [
    capture(w, pods.gateway, 'gateway', 'gateway', gatewayDump(w, pki, pods), logs.gateway),
    capture(w, pods.bff, 'sidecar', 'bff', sidecarDump(w, pki, pods, 'bff'), logs.bff),
  ];
  if (w.svcSidecar) {
    proxies.push(capture(w, pods.svc, 'sidecar', 'svc', sidecarDump(w, pki, pods, 'svc'), logs.svc));
  } else {
    proxies.push({
      id: SVC_WORKLOAD.id, role: 'sidecar', pod: { namespace: SVC_WORKLOAD.namespace, name: pods.svc.name, ip: pods.svc.ip },
      expectedIdentity: SVC_WORKLOAD.spiffeId, via: 'fixture', reachable: false,
      errors: [{ endpoint: 'pod', phase: 'once', message: `pod ${SVC_WORKLOAD.namespace}/${pods.svc.name} has no istio-proxy container` }],
      admin: { serverInfo: null, configDump: null, certs: null, clusters: null, statsBefore: null, statsAfter: null, prometheusBefore: null, prometheusAfter: null },
      accessLog: [],
    });
  }
  const requests: RequestRecord[] = withRequestIdTrails(ids.map((id, i) => ({
    id, requestIds: { sent: id, seen: [] }, sentAt: sentAt(i), path: '/', status: 200, error: null, durationMs: 12 + i, reusedConnection: i > 0,
    response: w.echoes ? echoes(w, pods, id, rids[i]) : null,
  })), proxies);
  return {
    schemaVersion: 1,
    kind: 'mesh-verify/evidence-bundle',
    run: {
      id: `fixture-${w.name}`, startedAt: FIXTURE_NOW.toISOString(), finishedAt: new Date(FIXTURE_NOW.getTime() + 4000).toISOString(),
      tool: { name: TOOL_NAME, version: VERSION },
      target: { kind: 'fixture', simulated: false, context: null, server: null, description: `hand-made fixture: ${w.description}` },
      istio: { version: ISTIO_VERSION, revision: null }, scenario: null, fault: w.fault,
      options: { requests: REQUESTS, freshConnections: false },
      notes: [
        `shapes of Istio ${ISTIO_VERSION} (Envoy ${ENVOY_VERSION}): cluster alt_stat_name '<name>;' (stats cluster.<name>;.*), access log with %UPSTREAM_CLUSTER_RAW% and mesh_verify_id; the gateway replaced the probe's x-request-id with a new UUID (requests[].requestIds)`,
        ...(w.echoes ? [] : ['app answers were not recorded in this fixture']),
      ],
    },
    path: referencePathSpec({ entry: { address: '127.0.0.1', port: KIND_HOST_PORT, kind: 'nodeport' }, gatewayCaPem: pki.externalCa.certPem }),
    proxies,
    client: clientObservation(w, pki),
    requests,
  };
}

/** Every fixture bundle by name (healthy first), with fresh keys. */
export async function generateFixtureBundles(): Promise<Map<string, EvidenceBundle>> {
  const pki = await makePki();
  const out = new Map<string, EvidenceBundle>();
  for (const w of [HEALTHY, ...FAULTS]) out.set(w.name, await buildFixtureBundle(w, pki));
  return out;
}

async function main(): Promise<void> {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('../fixtures/bundles/', import.meta.url));
  for (const [name, generated] of await generateFixtureBundles()) {
    const file = join(outDir, `${name}.bundle.json`);
    const { bundle } = await saveBundle(file, generated);
    process.stdout.write(`${file}: ${bundle.proxies.length} proxies, ${bundle.requests.length} requests\n`);
  }
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => { process.stderr.write(`${(err as Error).stack ?? err}\n`); process.exitCode = 1; });
}
