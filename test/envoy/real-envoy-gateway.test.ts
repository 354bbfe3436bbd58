import type { Server } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_FORMAT } from '../../src/envoy/access-log-format.js';
import { parseAccessLogLine } from '../../src/envoy/access-log.js';
import { parseStats } from '../../src/envoy/stats.js';
import type { StatsSnapshot } from '../../src/envoy/types.js';
import { listenerTraffic, upstreamClusterTraffic } from '../../src/analyze/stats-evidence.js';
import type { ProxyFacts } from '../../src/analyze/proxy-facts.js';
import { runCorrelation, runRequestOf } from '../../src/bundle/correlation.js';
import type { AppEcho, RequestRecord } from '../../src/bundle/types.js';
import { parseAppEcho } from '../../src/probe/app-echo.js';
import { createRootCa, issueCertificate } from '../../src/pki/ca.js';
import { loadApp } from '../../src/topology/app-source.js';
import { realEnvoyPath, startEnvoy, type RunningEnvoy } from '../helpers/real-envoy.js';

/**
 * The real Envoy (the pinned release, scripts/setup-components.sh) as an Istio-like ingress
 * gateway on 127.0.0.1, in front of the reference app:
 *  - the HCM has use_remote_address true and no preserve_external_request_id, as Istio's gateway
 *    (istio pilot/pkg/networking/core/gateway.go at 1.30.3, useRemoteAddress: true), and no
 *    internal_address_config (Istio sets one only with ENABLE_HCM_INTERNAL_NETWORKS and
 *    meshNetworks, gateway.go); since Envoy 1.33 no address is internal by default, so
 *    127.0.0.1 is an external client and the request an edge request (envoy
 *    source/common/http/conn_manager_utility.cc, mutateRequestHeaders);
 *  - the cluster carries alt_stat_name `<name>;` as Istio >= 1.23 builds it (istio
 *    pilot/pkg/networking/core/cluster_builder.go, util.DelimitedStatsPrefix, at 1.30.3);
 *  - the access log is ACCESS_LOG_FORMAT, plus %UPSTREAM_CLUSTER% under another key.
 */
const envoy = realEnvoyPath();
const CLUSTER = 'outbound|8080||svc.mesh-verify.svc.cluster.local';
const T = 'type.googleapis.com/envoy.';

function hcm(dir: string, statPrefix: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': `${T}extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
      stat_prefix: statPrefix,
      use_remote_address: true,
      route_config: { virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: CLUSTER } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': `${T}extensions.filters.http.router.v3.Router` } }],
      access_log: [{
        name: 'envoy.access_loggers.file',
        typed_config: {
          '@type': `${T}extensions.access_loggers.file.v3.FileAccessLog`,
          path: `${dir}/access.log`,
          log_format: { json_format: { ...ACCESS_LOG_FORMAT, listener: statPrefix, upstream_cluster_alt_stat_name: '%UPSTREAM_CLUSTER%' } },
        },
      }],
      ...extra,
    },
  };
}

/** Listener stats are rooted at listener.<stat_prefix>; Istio's are named after the address (0.0.0.0_8443). */
const listener = (name: string, statPrefix: string, chain: Record<string, unknown>) => ({
  name, stat_prefix: statPrefix, address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [chain],
});

interface Answer { status: number; echo: AppEcho | null }

function send(port: number, id: string, tls?: { ca: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { host: 'web.mesh-verify.test', 'x-request-id': id, 'x-mesh-verify-id': id };
    const onRes = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, echo: parseAppEcho(Buffer.concat(chunks).toString('utf8')) }));
    };
    const req = tls
      ? https.get({ host: '127.0.0.1', port, path: '/', headers, agent: false, ca: tls.ca, servername: 'web.mesh-verify.test' }, onRes)
      : http.get({ host: '127.0.0.1', port, path: '/', headers, agent: false }, onRes);
    req.on('error', reject);
  });
}

// In CI a missing Envoy is a failure, never a skip.
if (process.env.CI && !envoy.path) throw new Error('the pinned Envoy is not installed (run npm run setup)');
describe.skipIf(!envoy.path)(`real Envoy as an Istio-like gateway ${envoy.reason}`, () => {
  let app: Server;
  let proxy: RunningEnvoy;
  let ports: { edge: number; preserve: number; tls: number };
  let ca: string;
  let statsBefore: StatsSnapshot;
  const answers = new Map<string, Answer>();

  beforeAll(async () => {
    const { createApp } = await loadApp();
    app = createApp({ role: 'svc', pod: 'svc-0', log: () => {} });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as AddressInfo).port;
    const root = await createRootCa('real-envoy test CA');
    const leaf = await issueCertificate(root, { commonName: 'web.mesh-verify.test', dnsSans: ['web.mesh-verify.test'], clientAuth: false });
    ca = root.certPem;
    proxy = await startEnvoy(envoy.path as string, (dir) => ({
      static_resources: {
        listeners: [
          listener('edge', '0.0.0.0_8080', { filters: [hcm(dir, 'edge')] }),
          listener('preserve', '0.0.0.0_8081', { filters: [hcm(dir, 'preserve', { preserve_external_request_id: true })] }),
          listener('tls', '0.0.0.0_8443', {
            transport_socket: {
              name: 'envoy.transport_sockets.tls',
              typed_config: {
                '@type': `${T}extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
                common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: leaf.chainPem }, private_key: { inline_string: leaf.keyPem } }] },
              },
            },
            filters: [hcm(dir, 'tls')],
          }),
        ],
        clusters: [{
          name: CLUSTER, alt_stat_name: `${CLUSTER};`, type: 'STATIC', connect_timeout: '2s',
          load_assignment: { cluster_name: CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }] },
        }],
      },
    }));
    ports = { edge: await proxy.listenerPort('edge'), preserve: await proxy.listenerPort('preserve'), tls: await proxy.listenerPort('tls') };
    statsBefore = parseStats(await proxy.admin('/stats'));
    answers.set('mv-real-1', await send(ports.edge, 'mv-real-1'));
    answers.set('mv-real-2', await send(ports.preserve, 'mv-real-2'));
    answers.set('mv-real-3', await send(ports.tls, 'mv-real-3', { ca }));
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await new Promise((r) => (app ? app.close(r) : r(null)));
  });

  /** The access-log lines, once Envoy has flushed them (it flushes on an interval). */
  async function logLines(n: number): Promise<Record<string, unknown>[]> {
    for (let i = 0; i < 200; i += 1) {
      const lines = proxy.readLines('access.log');
      if (lines.length >= n) return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('Envoy did not write the access-log lines');
  }
  const lineOf = async (id: string) => (await logLines(3)).find((l) => l.mesh_verify_id === id) as Record<string, unknown>;

  it('replaces the client\'s x-request-id with a new UUID and leaves x-mesh-verify-id alone', async () => {
    const a = answers.get('mv-real-1')!;
    expect(a.status).toBe(200);
    expect(a.echo?.meshVerifyId).toBe('mv-real-1');
    expect(a.echo?.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a.echo?.requestId).not.toBe('mv-real-1');
    const line = await lineOf('mv-real-1');
    expect(line.request_id).toBe(a.echo?.requestId);
    // The cause: with preserve_external_request_id (which Istio never sets) the id survives.
    expect(answers.get('mv-real-2')!.echo?.requestId).toBe('mv-real-2');
  });

  it('ties the gateway\'s line to our request through mesh_verify_id, and through the id the app saw without it', async () => {
    const a = answers.get('mv-real-1')!;
    const record: RequestRecord = { id: 'mv-real-1', sentAt: new Date().toISOString(), path: '/', status: 200, error: null, durationMs: 1, reusedConnection: false, response: a.echo };
    const c = runCorrelation([record]);
    const entry = parseAccessLogLine(JSON.stringify(await lineOf('mv-real-1')))!;
    expect(runRequestOf(c, entry)).toBe('mv-real-1');
    // A mesh that does not log our header: the app's x-request-id still ties the line ...
    expect(runRequestOf(c, { ...entry, meshVerifyId: null })).toBe('mv-real-1');
    // ... and the probe's own x-request-id, which the gateway replaced, never does.
    const noEcho = runCorrelation([{ ...record, response: null }]);
    expect(runRequestOf(noEcho, { ...entry, meshVerifyId: null })).toBeNull();
    expect(runRequestOf(noEcho, { meshVerifyId: null, requestId: 'mv-real-1' })).toBeNull();
  });

  it('logs the cluster name with %UPSTREAM_CLUSTER_RAW% and the alt_stat_name with a trailing ";" with %UPSTREAM_CLUSTER%', async () => {
    const line = await lineOf('mv-real-1');
    expect(line.upstream_cluster).toBe(CLUSTER);
    expect(line.upstream_cluster_alt_stat_name).toBe(`${CLUSTER};`);
    const fromOldFormat = parseAccessLogLine(JSON.stringify({ ...line, upstream_cluster: line.upstream_cluster_alt_stat_name }))!;
    expect(fromOldFormat.upstreamCluster).toBe(CLUSTER);
  });

  it('names cluster stats after alt_stat_name, creates ssl.* only where a TLS context exists', async () => {
    const stats = parseStats(await proxy.admin('/stats'));
    const names = [...stats.keys()];
    expect(stats.get(`cluster.${CLUSTER};.upstream_rq_total`)).toBe(3);
    expect(names.filter((n) => n.startsWith(`cluster.${CLUSTER}.`))).toEqual([]);
    // /clusters shows the alt_stat_name as observability_name (fixtures/envoy/sidecar-clusters.txt).
    expect(await proxy.admin('/clusters')).toContain(`${CLUSTER}::observability_name::${CLUSTER};\n`);
    // The plaintext cluster has no ssl.* stats at all: absence is how Envoy is built, not evidence.
    expect(names.filter((n) => n.startsWith(`cluster.${CLUSTER};.ssl.`))).toEqual([]);
    // The TLS listener counts its handshake; the plaintext listeners have no ssl.* stats.
    expect(stats.get('listener.0.0.0.0_8443.ssl.handshake')).toBe(1);
    expect(names.filter((n) => n.startsWith('listener.0.0.0.0_8080.ssl.'))).toEqual([]);
    expect(stats.get('listener.0.0.0.0_8080.downstream_cx_total')).toBe(1);
  });

  it('the analyzer reads the real counters: a handshake on the TLS listener, and no ssl.* on the plaintext cluster as no evidence', async () => {
    const statsAfter = parseStats(await proxy.admin('/stats'));
    const facts = { id: 'gateway', statsBefore, statsAfter } as ProxyFacts;
    const cluster = upstreamClusterTraffic(facts, CLUSTER, 'mtls');
    expect(cluster).toHaveLength(1);
    expect(cluster[0]).toMatchObject({ subject: `cluster.${CLUSTER};.ssl.*`, indicates: null });
    expect(cluster[0].observed).toContain('upstream_rq_total +3');
    expect(cluster.filter((o) => o.indicates === 'plaintext' || o.effect === 'contradicts')).toEqual([]);
    expect(listenerTraffic(facts, '0.0.0.0_8443')).toEqual([expect.objectContaining({ indicates: 'tls', observed: expect.stringMatching(/^\+1 /) })]);
  });
});
