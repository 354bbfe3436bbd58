import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollection } from '../../src/collect/collector.js';
import type { AdminGetter, CollectDeps, FoundPod, ProxyTarget } from '../../src/collect/types.js';
import { realEnvoyPath, requireEnvoyInCi } from '../helpers/real-envoy.js';
import { startIstioSidecar, type IstioSidecar } from '../helpers/istio-sidecar.js';

/**
 * The collector against a REAL Envoy (the pinned release) configured as the lab's bff sidecar
 * (test/helpers/istio-sidecar.ts): every admin answer is Envoy's own. Both the gateway and the
 * bff target read this one Envoy (one per file keeps the file fast). Failures Envoy does not
 * produce on purpose (a reset, a hang, HTTP 503, an answer carrying a key) are wrappers named for
 * the failure around its real getter.
 */
const envoy = realEnvoyPath();
requireEnvoyInCi(envoy);

const targets: ProxyTarget[] = [
  { id: 'gateway', role: 'gateway', namespace: 'istio-system', selector: 'istio=ingressgateway', expectedIdentity: 'spiffe://cluster.local/ns/istio-system/sa/gw' },
  { id: 'bff', role: 'sidecar', namespace: 'mesh-verify', selector: 'app=bff', expectedIdentity: 'spiffe://cluster.local/ns/mesh-verify/sa/bff' },
  { id: 'svc', role: 'sidecar', namespace: 'mesh-verify', selector: 'app=svc', expectedIdentity: 'spiffe://cluster.local/ns/mesh-verify/sa/svc' },
];
const pod = (name: string, ns: string, sidecar = true): FoundPod =>
  ({ namespace: ns, name, ip: '10.0.0.9', containers: sidecar ? ['app', 'istio-proxy'] : ['app'] });

/** A log line Envoy did not write (the collector must match ids in any line shape). */
const logLine = (id: string) => JSON.stringify({ request_id: id, downstream_tls_version: 'TLSv1.3' });
/** Envoy's own access-log line for a request id (Istio's JSON format: "request_id":"<id>"). */
/** The base64 lines of the sidecar's private key (none may appear in a capture). */
const keyBody = () => [
  ...sidecar.keyPem.split('\n').filter((l) => l && !l.startsWith('-----')),
  Buffer.from(sidecar.keyPem).toString('base64').slice(0, 60),
];
const envoyLine = (id: string) => sidecar.accessLog().split('\n').find((l) => l.includes(`"request_id":"${id}"`));

let sidecar: IstioSidecar;
beforeAll(async () => {
  if (!envoy.path) return;
  sidecar = await startIstioSidecar(envoy.path);
  // Real traffic (Envoy answers 503: no svc pod here) so that the access log has lines for these ids.
  for (const id of ['mv-r-1', 'mv-r-10', 'mv-other-1', 'mv-r-2']) await sidecar.send(id);
  for (let i = 0; i < 100 && sidecar.accessLog().split('\n').filter(Boolean).length < 4; i += 1) await new Promise((r) => setTimeout(r, 50));
}, 60_000);
afterAll(async () => { await sidecar?.stop(); });

function deps(over: Partial<CollectDeps> = {}): CollectDeps & { logReads: { pod: string; container: string; since: number }[] } {
  const logReads: { pod: string; container: string; since: number }[] = [];
  return {
    logReads,
    findPod: async (t) => (t.id === 'gateway' ? pod('gw-1', t.namespace) : t.id === 'bff' ? pod('bff-1', t.namespace) : pod('svc-1', t.namespace, false)),
    openAdmin: async () => sidecar.getter(),
    readLog: async (p, container, since) => {
      logReads.push({ pod: p.name, container, since });
      return 'not json noise "mv-r-1x"\n' + sidecar.accessLog();
    },
    ...over,
  };
}

describe.skipIf(!envoy.path)(`startCollection over a real Envoy admin API ${envoy.reason}`, () => {
  it('reads counters before and everything after from each proxy; a pod without sidecar is unreachable with the reason', async () => {
    const d = deps();
    const c = await startCollection(targets, d, { logWaitMs: 0 });
    await c.before();
    await sidecar.send('mv-r-between');
    const since = new Date(Date.now() - 3000);
    const caps = await c.after(['mv-r-1', 'mv-r-2'], since);
    await c.close();
    expect(caps.map((x) => [x.id, x.reachable])).toEqual([['gateway', true], ['bff', true], ['svc', false]]);
    const [g, b, s] = caps;
    expect(s.errors).toEqual([{ endpoint: 'pod', phase: 'once', message: expect.stringContaining('pod mesh-verify/svc-1 has no istio-proxy container') }]);
    expect(s.admin.statsAfter).toBeNull();
    expect(s.pod.name).toBe('svc-1');
    for (const x of [g, b]) {
      expect(x.errors).toEqual([]);
      expect(x.via).toBe('direct');
      expect(x.admin.statsBefore?.body).toMatch(/^cluster\.outbound\|8080\|\|svc\.mesh-verify\.svc\.cluster\.local;\.ssl\.handshake: \d+$/m);
      // The request sent between the phases is in Envoy's counters of bff's outbound listener.
      const outboundRq = (body: string | undefined) => Number(/^http\.outbound_0\.0\.0\.0_8080\.downstream_rq_total: (\d+)$/m.exec(body ?? '')?.[1]);
      expect(outboundRq(x.admin.statsAfter?.body)).toBe(outboundRq(x.admin.statsBefore?.body) + 1);
      expect(x.admin.prometheusBefore?.request).toBe('/stats/prometheus');
      expect(x.admin.prometheusAfter?.contentType).toBe('text');
      expect(x.admin.certs?.contentType).toBe('json');
      expect(x.admin.clusters?.request).toBe('/clusters?format=json');
      expect(JSON.parse(x.admin.serverInfo?.body ?? '{}').state).toBe('LIVE');
      expect(x.accessLog).toEqual([envoyLine('mv-r-1'), envoyLine('mv-r-2')]);
    }
    expect(g.pod).toEqual({ namespace: 'istio-system', name: 'gw-1', ip: '10.0.0.9' });
    expect(g.expectedIdentity).toBe(targets[0].expectedIdentity);
    expect(d.logReads.map((r) => [r.pod, r.container])).toEqual(expect.arrayContaining([['gw-1', 'istio-proxy'], ['bff-1', 'istio-proxy']]));
    expect(d.logReads.every((r) => r.since >= 8 && r.since <= 10)).toBe(true);
  });

  it('settle returns once the proxy has taken no xDS update for quietMs, and gives up at timeoutMs while pushes go on', async () => {
    const c = await startCollection(targets.slice(1, 2), deps(), { logWaitMs: 0 });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      const quiet = await c.settle({ quietMs: 300, timeoutMs: 5_000, pollMs: 50 });
      expect(quiet).toMatchObject({ settled: true, updates: 0 });
      // Three CDS pushes 250 ms apart (real Envoy counts each in cluster_manager.cds.update_attempt).
      const t0 = Date.now();
      let lastPush = 0;
      const pushes = (async () => { for (let i = 0; i < 3; i += 1) { await sleep(250); sidecar.addCluster(`settle-a-${i}`); lastPush = Date.now(); } })();
      const busy = await c.settle({ quietMs: 600, timeoutMs: 10_000, pollMs: 50 });
      await pushes;
      expect(busy.settled).toBe(true);
      expect(busy.updates).toBeGreaterThanOrEqual(2);
      expect(t0 + busy.waitedMs).toBeGreaterThanOrEqual(lastPush + 500);
      // Pushes every 150 ms for 1.5 s: never quiet for 600 ms within 800 ms.
      const stream = (async () => { for (let i = 0; i < 10; i += 1) { sidecar.addCluster(`settle-b-${i}`); await sleep(150); } })();
      const never = await c.settle({ quietMs: 600, timeoutMs: 800, pollMs: 50 });
      await stream;
      expect(never.settled).toBe(false);
      expect(sidecar.requests.filter((p) => p.includes('update_attempt')).length).toBeGreaterThan(10);
    } finally {
      await c.close();
    }
  });

  it('asks config_dump for the needed sections only, one masked request per dump type, merged in order', async () => {
    const c = await startCollection(targets.slice(1, 2), deps(), { logWaitMs: 0 });
    const before = sidecar.requests.length;
    const [b] = await c.after([], new Date());
    const asked = sidecar.requests.slice(before).filter((r) => r.startsWith('/config_dump'));
    expect(asked.sort()).toEqual([
      '/config_dump?mask=bootstrap.node.id,bootstrap.node.cluster,bootstrap.node.metadata,bootstrap.node.user_agent_build_version',
      '/config_dump?mask=static_clusters,dynamic_active_clusters',
      '/config_dump?mask=static_endpoint_configs,dynamic_endpoint_configs&include_eds',
      '/config_dump?mask=static_listeners,dynamic_listeners',
      '/config_dump?mask=static_secrets,dynamic_active_secrets,dynamic_warming_secrets',
    ]);
    const doc = JSON.parse(b.admin.configDump?.body ?? '{}');
    expect(doc.configs.map((x: { '@type': string }) => x['@type'].split('.').pop())).toEqual(
      ['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'SecretsConfigDump']);
    expect(doc.configs[0].bootstrap.node.id).toMatch(/^sidecar~/);
    expect(doc.configs[0].bootstrap.admin).toBeUndefined();
    // Envoy itself redacts the SDS secret's key: istio-agent's inline_bytes key becomes the bytes
    // "[redacted]" (base64 W3JlZGFjdGVkXQ==, as in real Istio dumps); the certificate chain stays.
    const secret = doc.configs[4].dynamic_active_secrets.find((x: { name: string }) => x.name === 'default').secret;
    expect(secret.tls_certificate.private_key).toEqual({ inline_bytes: 'W3JlZGFjdGVkXQ==' });
    expect(Buffer.from(secret.tls_certificate.certificate_chain.inline_bytes, 'base64').toString()).toContain('BEGIN CERTIFICATE');
    for (const line of keyBody()) expect(b.admin.configDump?.body).not.toContain(line);
    expect(b.admin.configDump?.request.split(' + ')).toHaveLength(5);
    await c.close();
  });

  it("redacts a private key an admin answer carried unredacted (Envoy's real secrets answer with the key put back)", async () => {
    // Not Envoy's behaviour: a proxy (or an older build) that leaks; the collector must not keep the key.
    let leaked = false;
    const leakingSecrets = (inner: AdminGetter): AdminGetter => ({
      via: 'direct',
      get: async (path, o) => {
        const res = await inner.get(path, o);
        if (!path.includes('secrets')) return res;
        const body = res.body.replace('"W3JlZGFjdGVkXQ=="', JSON.stringify(Buffer.from(sidecar.keyPem).toString('base64')));
        leaked = body !== res.body;
        return { ...res, body };
      },
      close: () => {},
    });
    const c = await startCollection(targets.slice(1, 2), deps({ openAdmin: async () => leakingSecrets(sidecar.getter()) }), { logWaitMs: 0 });
    const [b] = await c.after([], new Date());
    await c.close();
    expect(leaked).toBe(true);
    const doc = JSON.parse(b.admin.configDump?.body ?? '{}');
    const secret = doc.configs[4].dynamic_active_secrets.find((x: { name: string }) => x.name === 'default').secret;
    // The secret guard's marker (src/bundle/envoy-allowlist.ts): base64 of "[redacted]".
    expect(secret.tls_certificate.private_key).toEqual({ inline_bytes: 'W3JlZGFjdGVkXQ==' });
    for (const line of keyBody()) expect(b.admin.configDump?.body).not.toContain(line);
  });

  it('records each failing endpoint as a capture error and keeps the rest', async () => {
    const brokenAdmin = (inner: AdminGetter): AdminGetter => ({
      via: 'exec',
      get: (path, o) => (path === '/certs' ? Promise.reject(new Error('stream reset'))
        : path === '/server_info' ? new Promise(() => {}) // never answers
          : path.startsWith('/clusters') ? Promise.resolve({ status: 503, body: 'no healthy upstream' }) : inner.get(path, o)),
      close: () => {},
    });
    const c = await startCollection(targets.slice(1, 2), deps({ openAdmin: async () => brokenAdmin(sidecar.getter()) }), { timeoutMs: 300, logWaitMs: 0 });
    const [b] = await c.after(['mv-r-1'], new Date());
    expect(b.reachable).toBe(true);
    expect(b.via).toBe('exec');
    expect(b.admin.certs).toBeNull();
    expect(b.admin.serverInfo).toBeNull();
    expect(b.admin.clusters).toBeNull();
    expect(b.admin.configDump).not.toBeNull();
    expect(b.errors).toEqual(expect.arrayContaining([
      { endpoint: '/certs', phase: 'after', message: 'stream reset' },
      { endpoint: '/server_info', phase: 'after', message: 'GET /server_info timed out after 300 ms' },
      { endpoint: '/clusters?format=json', phase: 'after', message: 'HTTP 503: no healthy upstream' },
    ]));
    await c.close();
  });

  it('never keeps a private key or token an admin answer or a log carried', async () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
    const leaky: AdminGetter = {
      via: 'direct',
      get: async (path) => (path === '/certs' ? { status: 200, body: JSON.stringify({ key }) } : sidecar.getter().get(path, { timeoutMs: 1000 })),
      close: () => {},
    };
    const c = await startCollection(targets.slice(1, 2), deps({
      openAdmin: async () => leaky,
      readLog: async () => `{"request_id":"mv-r-1","authorization":"Bearer abcdefghijklmnop"}\n`,
    }), { logWaitMs: 0 });
    const [b] = await c.after(['mv-r-1'], new Date());
    expect(b.admin.certs?.body).not.toContain('MIGHAgEA');
    expect(b.admin.certs?.body).toContain('[redacted]');
    expect(b.accessLog).toHaveLength(1);
    expect(b.accessLog[0]).not.toContain('abcdefghijklmnop');
    await c.close();
  });

  it('records missing pods, unlistable pods and unreachable admin ports per proxy', async () => {
    const c = await startCollection(targets, deps({
      findPod: async (t) => {
        if (t.id === 'gateway') throw new Error('HTTP 403: pods is forbidden');
        return t.id === 'bff' ? null : pod('svc-1', t.namespace);
      },
      openAdmin: async () => { throw new Error('port-forward: upgrade refused'); },
    }), { logWaitMs: 0 });
    await c.before();
    const caps = await c.after(['mv-r-1'], new Date());
    expect(caps.every((x) => !x.reachable)).toBe(true);
    expect(caps.map((x) => x.errors[0].message)).toEqual([
      'cannot list pods istio=ingressgateway in istio-system: HTTP 403: pods is forbidden',
      'no running pod matches app=bff in namespace mesh-verify',
      'cannot reach the admin port of mesh-verify/svc-1: port-forward: upgrade refused',
    ]);
  });

  it('opens at most `concurrency` proxies at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const c = await startCollection(targets, deps({
      findPod: async (t) => pod(`${t.id}-1`, t.namespace),
      openAdmin: async () => {
        inFlight += 1; peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight -= 1;
        return sidecar.getter();
      },
    }), { concurrency: 2, logWaitMs: 0 });
    await c.close();
    expect(peak).toBe(2);
  });

  it('re-reads a log until the awaited ids are there (Envoy flushes access logs late)', async () => {
    let reads = 0;
    const c = await startCollection(targets.slice(1, 2), deps({
      readLog: async () => { reads += 1; return reads === 1 ? '' : logLine('mv-r-1') + '\n'; },
    }), { logWaitMs: 5000, logPollMs: 20 });
    const [b] = await c.after(['mv-r-1'], new Date(), ['mv-r-1']);
    // Once the id is there, the log is read once more after a settle time (a sidecar's second line).
    expect(reads).toBe(3);
    expect(b.accessLog).toEqual([logLine('mv-r-1')]);
    await c.close();
  });

  it('keeps the line of an id that a later flush brings (a sidecar logs outbound before inbound)', async () => {
    let reads = 0;
    const outbound = logLine('mv-r-1');
    const inbound = outbound.replace('{', '{"direction":"inbound",');
    const c = await startCollection(targets.slice(1, 2), deps({
      readLog: async () => { reads += 1; return reads === 1 ? `${outbound}\n` : `${outbound}\n${inbound}\n`; },
    }), { logWaitMs: 5000, logPollMs: 20 });
    const [b] = await c.after(['mv-r-1'], new Date(), ['mv-r-1']);
    expect(b.accessLog).toEqual([outbound, inbound]);
    await c.close();
  });
});
