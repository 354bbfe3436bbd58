import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  inspectConfigDump, istioRequests, parseAccessLogLine, parseCerts, parsePrometheus, parseStats,
} from '../../../src/envoy/index.js';
import { FORGED_XFCC, meshStateForFault, startDataPlane, type DataPlane } from '../../../src/lab/dataplane/index.js';
import type { LabFault } from '../../../src/lab/types.js';
import { BFF_WORKLOAD, SVC_WORKLOAD, outboundCluster } from '../../../src/topology/reference.js';
import { admin, GATEWAY_APP, pod, probe } from './client.js';

const SVC_CLUSTER = outboundCluster(8080, 'svc.mesh-verify.svc.cluster.local');
const BFF_CLUSTER = outboundCluster(8080, 'bff.mesh-verify.svc.cluster.local');

let plane: DataPlane | null = null;
afterEach(async () => {
  await plane?.stop();
  plane = null;
});

async function start(fault: LabFault): Promise<DataPlane> {
  plane = await startDataPlane({ state: meshStateForFault(fault), fault });
  return plane;
}

const logOf = (p: DataPlane, app: string, id: string) =>
  pod(p, app).logs('istio-proxy').map(parseAccessLogLine).filter((e) => e?.meshVerifyId === id);

describe('faults change the sockets and the admin output together', () => {
  it('plaintext-gateway-bff: gateway sends plaintext, bff is PERMISSIVE, no XFCC reaches bff', async () => {
    const p = await start('plaintext-gateway-bff');
    const a = await probe(p, 'f-plain-1');
    expect(a.status).toBe(200);
    expect(a.json.headers['x-forwarded-client-cert']).toBeUndefined();
    expect(a.json.upstream.body.headers['x-forwarded-client-cert']).toBeDefined();
    const [gw] = logOf(p, GATEWAY_APP, 'f-plain-1');
    expect(gw).toMatchObject({ upstreamTlsVersion: null, upstreamPeerUriSan: null, upstreamCluster: BFF_CLUSTER });
    const bffIn = logOf(p, 'bff', 'f-plain-1').find((e) => e!.upstreamCluster === 'inbound|8080||');
    expect(bffIn).toMatchObject({ downstreamTlsVersion: null, downstreamPeerUriSan: null });
    const gwStats = parseStats(await admin(pod(p, GATEWAY_APP), '/stats'));
    expect(gwStats.get(`cluster.${BFF_CLUSTER}.ssl.handshake`)).toBe(0);
    expect(gwStats.get(`cluster.${BFF_CLUSTER}.upstream_cx_total`)).toBe(1);
    const bffDump = inspectConfigDump(JSON.parse(await admin(pod(p, 'bff'), '/config_dump')));
    expect(bffDump.inbound.filter((m) => m.port === 8080).map((m) => m.mode)).toEqual(['PERMISSIVE']);
    const gwDump = inspectConfigDump(JSON.parse(await admin(pod(p, GATEWAY_APP), '/config_dump')));
    expect(gwDump.clusters.find((c) => c.name === BFF_CLUSTER)!.upstreamTls).toBe('none');
    const dest = istioRequests(parsePrometheus(await admin(pod(p, 'bff'), '/stats/prometheus'))).find((s) => s.reporter === 'destination')!;
    expect(dest).toMatchObject({ connectionSecurityPolicy: 'none', sourcePrincipal: 'unknown' });
  });

  it('permissive-svc: a sidecar-less caller really reaches svc in plaintext; its forged XFCC is removed', async () => {
    const p = await start('permissive-svc');
    const a = await probe(p, 'f-perm-1');
    expect(a.status).toBe(200);
    // One plaintext call per gateway request, finished before the gateway answered.
    const caller = p.pods().find((x) => x.app === 'legacy-client')!;
    expect(caller.containers).toEqual(['legacy-client']);
    const callerLog = caller.logs('legacy-client').map((l) => JSON.parse(l));
    expect(callerLog).toHaveLength(1);
    expect(callerLog[0].status).toBe(200);
    const echoed = JSON.parse(callerLog[0].answer);
    expect(echoed.service).toBe('svc');
    expect(echoed.headers['x-forwarded-client-cert']).toBeUndefined();
    expect(FORGED_XFCC).toContain('forged');
    const svcEntries = pod(p, 'svc').logs('istio-proxy').map(parseAccessLogLine);
    expect(svcEntries.find((e) => e?.requestId === callerLog[0].requestId)).toMatchObject({ downstreamTlsVersion: null, downstreamPeerUriSan: null, responseCode: 200 });
    expect(svcEntries.find((e) => e?.meshVerifyId === 'f-perm-1')).toMatchObject({ downstreamTlsVersion: 'TLSv1.3', downstreamPeerUriSan: BFF_WORKLOAD.spiffeId });
    const series = istioRequests(parsePrometheus(await admin(pod(p, 'svc'), '/stats/prometheus'))).filter((s) => s.reporter === 'destination');
    expect(series.map((s) => s.connectionSecurityPolicy).sort()).toEqual(['mutual_tls', 'none']);
    expect(series.find((s) => s.connectionSecurityPolicy === 'none')).toMatchObject({ sourcePrincipal: 'unknown', value: 1 });
    const svcDump = inspectConfigDump(JSON.parse(await admin(pod(p, 'svc'), '/config_dump')));
    expect(svcDump.inbound.filter((m) => m.port === 8080).map((m) => m.mode)).toEqual(['PERMISSIVE']);
  });

  it('no-sidecar-svc: svc has no istio-proxy or admin port; bff sends plaintext to it', async () => {
    const p = await start('no-sidecar-svc');
    const a = await probe(p, 'f-nosc-1');
    expect(a.status).toBe(200);
    expect(a.json.upstream.status).toBe(200);
    expect(a.json.upstream.body.headers['x-forwarded-client-cert']).toBeUndefined();
    const svc = pod(p, 'svc');
    expect(svc.containers).toEqual(['svc']);
    expect(svc.ports[15000]).toBeUndefined();
    expect(svc.logs('istio-proxy')).toEqual([]);
    expect(svc.logs('svc').some((l) => l.includes('f-nosc-1'))).toBe(true);
    const out = logOf(p, 'bff', 'f-nosc-1').find((e) => e!.upstreamCluster === SVC_CLUSTER);
    expect(out).toMatchObject({ upstreamTlsVersion: null, upstreamPeerUriSan: null, responseCode: 200 });
    const stats = parseStats(await admin(pod(p, 'bff'), '/stats'));
    expect(stats.get(`cluster.${SVC_CLUSTER}.ssl.handshake`)).toBe(0);
    expect(stats.get(`cluster.${SVC_CLUSTER}.upstream_cx_total`)).toBe(1);
    const dump = inspectConfigDump(JSON.parse(await admin(pod(p, 'bff'), '/config_dump?include_eds')));
    expect(dump.clusters.find((c) => c.name === SVC_CLUSTER)!.endpoints?.map((e) => e.tlsMode)).toEqual([null]);
  });

  it.each(['expired-cert', 'foreign-root'] as const)('%s: bff really fails the handshake to svc', async (fault) => {
    const p = await start(fault);
    const a = await probe(p, `f-${fault}`);
    expect(a.status).toBe(200);
    expect(a.json.upstream.status).toBe(503);
    const out = logOf(p, 'bff', `f-${fault}`).find((e) => e!.upstreamCluster === SVC_CLUSTER)!;
    expect(out.responseCode).toBe(503);
    expect(out.responseFlags).toContain('UF');
    expect(out.upstreamTransportFailureReason).toContain('CERTIFICATE_VERIFY_FAILED');
    // A foreign root is reported as an untrusted chain (the server also sends the root it chains to).
    expect(out.upstreamTransportFailureReason).toMatch(fault === 'expired-cert' ? /certificate has expired/ : /unable to get local issuer certificate|self signed certificate in certificate chain/);
    const stats = parseStats(await admin(pod(p, 'bff'), '/stats'));
    expect(stats.get(`cluster.${SVC_CLUSTER}.ssl.handshake`)).toBe(0);
    // Istio's default retry policy: one attempt plus two retries on connect failure.
    expect(stats.get(`cluster.${SVC_CLUSTER}.ssl.fail_verify_error`)).toBe(3);
    expect(stats.get(`cluster.${SVC_CLUSTER}.upstream_cx_connect_fail`)).toBe(3);
    expect(pod(p, 'svc').logs('svc').some((l) => l.includes(`f-${fault}`))).toBe(false);
    const certs = parseCerts(JSON.parse(await admin(pod(p, 'svc'), '/certs')));
    const leaf = certs[0]!.certChain[0]!;
    expect(leaf.uriSans).toEqual([SVC_WORKLOAD.spiffeId]);
    const svcDump = inspectConfigDump(JSON.parse(await admin(pod(p, 'svc'), '/config_dump')));
    const secret = svcDump.secrets.find((s) => s.name === 'default')!;
    if (fault === 'expired-cert') {
      expect(leaf.daysUntilExpiration).toBe(0);
      expect(new Date(leaf.expirationTime!).getTime()).toBeLessThan(Date.now());
      expect(secret.expired).toBe(true);
    } else {
      expect(secret.expired).toBe(false);
      expect(new X509Certificate(secret.chain[0]!.pem).checkIssued(new X509Certificate(p.meshRootPem))).toBe(false);
    }
  });

  it('nlb-terminates-tls: the client is shown the NLB certificate, not the gateway credential', async () => {
    const p = await start('nlb-terminates-tls');
    await expect(probe(p, 'f-nlb-strict')).rejects.toThrow();
    const a = await probe(p, 'f-nlb-1', { trust: 'none' });
    expect(a.status).toBe(200);
    const presented = new X509Certificate(a.peerCertificate.raw);
    expect(presented.checkIssued(new X509Certificate(p.externalCaPem))).toBe(false);
    expect(presented.issuer).toContain('lab load balancer CA');
    // The gateway still terminates a TLS connection: the NLB's re-originated one.
    const [gw] = logOf(p, GATEWAY_APP, 'f-nlb-1');
    expect(gw).toMatchObject({ downstreamTlsVersion: 'TLSv1.3', requestedServerName: 'web.mesh-verify.test' });
  });

  it('stats-filtered: Istio default inclusion, no data-plane ssl.* stats, xds-grpc and istio metrics kept', async () => {
    const p = await start('stats-filtered');
    expect((await probe(p, 'f-stats-1')).status).toBe(200);
    for (const app of [GATEWAY_APP, 'bff', 'svc']) {
      const names = [...parseStats(await admin(pod(p, app), '/stats')).keys()];
      expect(names.filter((n) => n.includes('ssl.') && !n.startsWith('cluster.xds-grpc.'))).toEqual([]);
      expect(names.filter((n) => /^listener\.|^cluster\.(in|out)bound/.test(n))).toEqual([]);
      expect(names).toContain('cluster.xds-grpc.upstream_cx_total');
      expect(names.some((n) => n.startsWith('server.'))).toBe(true);
    }
    const series = istioRequests(parsePrometheus(await admin(pod(p, 'bff'), '/stats/prometheus')));
    expect(series.find((s) => s.reporter === 'destination')?.connectionSecurityPolicy).toBe('mutual_tls');
    const dump = JSON.parse(await admin(pod(p, 'bff'), '/config_dump?mask=bootstrap.stats_config'));
    const patterns = dump.configs[0].bootstrap.stats_config.stats_matcher.inclusion_list.patterns;
    expect(patterns).toContainEqual({ prefix: 'cluster.xds-grpc' });
    expect(JSON.stringify(patterns)).not.toContain('ssl');
  });
});
