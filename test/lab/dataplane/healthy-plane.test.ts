import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inspectConfigDump, istioRequests, parseAccessLogLine, parseCerts, parseClusters, parsePrometheus, parseServerInfo,
  parseStats, parseXfcc,
} from '../../../src/envoy/index.js';
import { meshStateForFault, startDataPlane, type DataPlane } from '../../../src/lab/dataplane/index.js';
import { BFF_WORKLOAD, GATEWAY_WORKLOAD, SVC_WORKLOAD, outboundCluster } from '../../../src/topology/reference.js';
import { admin, GATEWAY_APP, pod, probe, type ProbeAnswer } from './client.js';
import { pinnedVersions } from '../../../src/topology/versions.js';

const SVC_CLUSTER = outboundCluster(8080, 'svc.mesh-verify.svc.cluster.local');
const BFF_CLUSTER = outboundCluster(8080, 'bff.mesh-verify.svc.cluster.local');

describe('healthy data plane: mTLS on both mesh hops, plaintext only on loopback', () => {
  let plane: DataPlane;
  const answers: ProbeAnswer[] = [];

  beforeAll(async () => {
    plane = await startDataPlane({ state: meshStateForFault(null) });
    for (let i = 0; i < 4; i++) answers.push(await probe(plane, `healthy-${i}`));
  });
  afterAll(async () => plane?.stop());

  it('answers through NLB -> gateway -> bff -> svc with the external CA trusted for PUBLIC_HOST', () => {
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.json.service).toBe('bff');
      expect(a.json.upstream.status).toBe(200);
      expect(a.json.upstream.body.service).toBe('svc');
    }
    expect(answers[0]!.peerCertificate.subjectaltname).toContain('DNS:web.mesh-verify.test');
    expect(new X509Certificate(answers[0]!.peerCertificate.raw).checkIssued(new X509Certificate(plane.externalCaPem))).toBe(true);
  });

  it('XFCC seen by each app names the previous hop and hashes the certificate it really presented', async () => {
    const a = answers[1]!;
    const [bffHop] = parseXfcc(a.json.headers['x-forwarded-client-cert']);
    const [svcHop] = parseXfcc(a.json.upstream.body.headers['x-forwarded-client-cert']);
    expect(bffHop).toMatchObject({ by: BFF_WORKLOAD.spiffeId, uri: [GATEWAY_WORKLOAD.spiffeId] });
    expect(svcHop).toMatchObject({ by: SVC_WORKLOAD.spiffeId, uri: [BFF_WORKLOAD.spiffeId] });
    // The hash is the SHA-256 of the certificate the gateway's /certs reports as its workload cert.
    const gwCerts = parseCerts(JSON.parse(await admin(pod(plane, GATEWAY_APP), '/certs')));
    expect(gwCerts[0]!.certChain[0]!.uriSans).toEqual([GATEWAY_WORKLOAD.spiffeId]);
    const gwDump = inspectConfigDump(JSON.parse(await admin(pod(plane, GATEWAY_APP), '/config_dump')));
    const gwCert = gwDump.secrets.find((s) => s.name === 'default')!.chain[0]!;
    expect(bffHop!.hash).toBe(gwCert.fingerprint256);
  });

  it('counters show TLS handshakes on the mesh hops and pooled upstream connections', async () => {
    const bff = parseStats(await admin(pod(plane, 'bff'), '/stats'));
    const svc = parseStats(await admin(pod(plane, 'svc'), '/stats?format=json'));
    const gw = parseStats(await admin(pod(plane, GATEWAY_APP), '/stats'));
    expect(gw.get('listener.0.0.0.0_8443.ssl.handshake')).toBe(4);
    expect(gw.get(`cluster.${BFF_CLUSTER}.ssl.handshake`)).toBeGreaterThanOrEqual(1);
    expect(gw.get(`cluster.${BFF_CLUSTER}.upstream_rq_total`)).toBe(4);
    expect(bff.get('listener.0.0.0.0_15006.ssl.handshake')).toBe(gw.get(`cluster.${BFF_CLUSTER}.ssl.handshake`));
    expect(bff.get(`cluster.${SVC_CLUSTER}.upstream_rq_total`)).toBe(4);
    // keep-alive: sequential requests reuse one mTLS connection
    expect(bff.get(`cluster.${SVC_CLUSTER}.ssl.handshake`)).toBe(1);
    expect(bff.get(`cluster.${SVC_CLUSTER}.upstream_cx_total`)).toBe(1);
    expect(svc.get('listener.0.0.0.0_15006.ssl.handshake')).toBe(1);
    expect(svc.get('listener.0.0.0.0_15006.ssl.fail_verify_error')).toBe(0);
    // the hop to the app is plaintext: the inbound cluster never handshakes
    expect(svc.get('cluster.inbound|8080||.ssl.handshake')).toBe(0);
    expect(svc.get('cluster.inbound|8080||.upstream_rq_total')).toBe(4);
    // the app's outbound call arrives in plaintext on 0.0.0.0_8080
    expect(bff.get('listener.0.0.0.0_8080.ssl.handshake')).toBe(0);
    expect(bff.get('listener.0.0.0.0_8080.downstream_cx_total')).toBe(4);
  });

  it('the gateway replaces x-request-id as Envoy >= 1.33 does; x-mesh-verify-id reaches every hop unchanged', () => {
    // Istio's gateway HCM: use_remote_address true, no preserve_external_request_id (istio
    // pilot/pkg/networking/core/gateway.go at 1.30.3); Envoy >= 1.33 has no internal addresses by
    // default, so the request is an edge request and gets a new UUID (envoy
    // source/common/http/conn_manager_utility.cc, mutateRequestHeaders). Sidecars keep it.
    const a = answers[2]!;
    const lines = (app: string) => pod(plane, app).logs('istio-proxy').map(parseAccessLogLine).filter((e) => e?.meshVerifyId === 'healthy-2');
    const [gw] = lines(GATEWAY_APP);
    expect(gw!.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(gw!.requestId).not.toBe('healthy-2');
    expect(a.json).toMatchObject({ requestId: gw!.requestId, meshVerifyId: 'healthy-2' });
    expect(a.json.upstream.body).toMatchObject({ requestId: gw!.requestId, meshVerifyId: 'healthy-2' });
    for (const app of ['bff', 'svc']) {
      expect(lines(app).length).toBeGreaterThan(0);
      for (const e of lines(app)) expect(e!.requestId).toBe(gw!.requestId);
    }
    expect(pod(plane, 'svc').logs('istio-proxy').map(parseAccessLogLine).some((e) => e?.requestId === 'healthy-2')).toBe(false);
  });

  it('access-log lines carry the request id and the TLS facts of each hop', () => {
    const entries = (app: string) => pod(plane, app).logs('istio-proxy').map(parseAccessLogLine).filter((e) => e?.meshVerifyId === 'healthy-2');
    const [gw] = entries(GATEWAY_APP);
    expect(gw).toMatchObject({ downstreamTlsVersion: 'TLSv1.3', requestedServerName: 'web.mesh-verify.test', downstreamPeerUriSan: null, upstreamPeerUriSan: BFF_WORKLOAD.spiffeId, upstreamTlsVersion: 'TLSv1.3', upstreamCluster: BFF_CLUSTER, responseCode: 200 });
    const bff = entries('bff');
    const inbound = bff.find((e) => e!.upstreamCluster === 'inbound|8080||')!;
    const outbound = bff.find((e) => e!.upstreamCluster === SVC_CLUSTER)!;
    expect(inbound).toMatchObject({ downstreamPeerUriSan: GATEWAY_WORKLOAD.spiffeId, downstreamTlsVersion: 'TLSv1.3', upstreamTlsVersion: null });
    expect(outbound).toMatchObject({ downstreamTlsVersion: null, upstreamPeerUriSan: SVC_WORKLOAD.spiffeId, upstreamTlsVersion: 'TLSv1.3' });
    const [svc] = entries('svc');
    expect(svc).toMatchObject({ downstreamPeerUriSan: BFF_WORKLOAD.spiffeId, downstreamTlsVersion: 'TLSv1.3', upstreamTlsVersion: null, upstreamCluster: 'inbound|8080||' });
    expect(pod(plane, 'svc').logs('svc').some((l) => l.includes('healthy-2'))).toBe(true);
  });

  it('config dumps read with the project parser: STRICT inbound, auto-mTLS clusters, gateway credential', async () => {
    const bff = inspectConfigDump(JSON.parse(await admin(pod(plane, 'bff'), '/config_dump?include_eds')));
    // The lab's proxies report the pinned Istio, which its istiod runs (issue 9 B5).
    expect(bff.proxy).toMatchObject({ type: 'sidecar', istioVersion: pinnedVersions().istio });
    expect(bff.inbound.filter((m) => m.port === 8080).map((m) => m.mode)).toEqual(['STRICT']);
    const svcCluster = bff.clusters.find((c) => c.name === SVC_CLUSTER)!;
    expect(['mtls', 'auto-mtls']).toContain(svcCluster.upstreamTls);
    expect(svcCluster.sans).toEqual([SVC_WORKLOAD.spiffeId]);
    expect(svcCluster.sni).toBe('outbound_.8080_._.svc.mesh-verify.svc.cluster.local');
    expect(svcCluster.endpoints?.map((e) => e.tlsMode)).toEqual(['istio']);
    expect(bff.secrets.find((s) => s.name === 'default')).toMatchObject({ uriSans: [BFF_WORKLOAD.spiffeId], expired: false });
    const gw = inspectConfigDump(JSON.parse(await admin(pod(plane, GATEWAY_APP), '/config_dump')));
    expect(gw.proxy.type).toBe('router');
    const l8443 = gw.listeners.find((l) => l.name === '0.0.0.0_8443')!;
    expect(l8443.downstreamTls).toBe('tls');
    expect(l8443.secrets).toContain('kubernetes://mesh-verify-credential');
    expect(gw.clusters.find((c) => c.name === 'xds-grpc')?.controlPlane).toBe(true);
  });

  it('config_dump supports ?resource= and ?mask= like Envoy', async () => {
    const bffPod = pod(plane, 'bff');
    const res = JSON.parse(await admin(bffPod, '/config_dump?resource=dynamic_active_clusters&mask=cluster.name'));
    expect(res.configs.map((c: any) => c.cluster.name)).toContain(SVC_CLUSTER);
    expect(res.configs[0]['@type']).toBe('type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster');
    // `cluster` is an Any: its @type stays with the masked fields
    expect(Object.keys(res.configs[0].cluster).sort()).toEqual(['@type', 'name']);
    const masked = JSON.parse(await admin(bffPod, '/config_dump?mask=bootstrap.node.id'));
    expect(masked.configs[0].bootstrap).toEqual({ node: { id: 'sidecar~10.244.0.11~bff-7b9c6d5f8-lab02.mesh-verify~mesh-verify.svc.cluster.local' } });
  });

  it('prometheus, clusters and server_info read with the project parsers', async () => {
    const bffPod = pod(plane, 'bff');
    const series = istioRequests(parsePrometheus(await admin(bffPod, '/stats/prometheus')));
    const dest = series.find((s) => s.reporter === 'destination')!;
    expect(dest).toMatchObject({ connectionSecurityPolicy: 'mutual_tls', sourcePrincipal: GATEWAY_WORKLOAD.spiffeId, destinationPrincipal: BFF_WORKLOAD.spiffeId, value: 4 });
    const src = series.find((s) => s.reporter === 'source')!;
    expect(src).toMatchObject({ connectionSecurityPolicy: 'unknown', destinationPrincipal: SVC_WORKLOAD.spiffeId, value: 4 });
    const prom = parsePrometheus(await admin(bffPod, '/stats/prometheus'));
    expect(prom.find((s) => s.name === 'envoy_cluster_ssl_handshake' && s.labels.cluster_name === SVC_CLUSTER)?.value).toBe(1);
    for (const format of ['', '?format=json']) {
      const clusters = parseClusters(await admin(bffPod, `/clusters${format}`));
      const svc = clusters.find((c) => c.name === SVC_CLUSTER)!;
      expect(svc.hosts[0]!.stats.rq_total).toBe(4);
    }
    const info = parseServerInfo(JSON.parse(await admin(bffPod, '/server_info')));
    expect(info).toMatchObject({ state: 'LIVE', envoyVersion: '1.30.5', serviceNode: 'sidecar~10.244.0.11~bff-7b9c6d5f8-lab02.mesh-verify~mesh-verify.svc.cluster.local' });
    expect(await admin(bffPod, '/ready')).toBe('LIVE\n');
  });

  it('pods: gateway, bff and svc with istio-proxy, admin ports and no plaintext caller', () => {
    const pods = plane.pods();
    expect(pods.map((p) => `${p.namespace}/${p.app}`).sort()).toEqual(['istio-system/istio-ingressgateway', 'mesh-verify/bff', 'mesh-verify/svc']);
    for (const p of pods) {
      expect(p.containers).toContain('istio-proxy');
      expect(p.ports[15000]).toBeGreaterThan(0);
    }
  });
});
