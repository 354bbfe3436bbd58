import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli-in-process.js';
import type { EvidenceBundle } from '../../src/bundle/types.js';
import { parseBundle } from '../../src/bundle/load.js';
import { analyzeAtRun, editAccessLog, editConfigDump, loadFixture, proxy, segment, statuses } from './fixture-bundles.js';

/**
 * Issue 14, sections 0 and 1: a bundle cannot fake a proof. Each case edits a committed fixture
 * bundle the way a damaged, merged or hand-edited bundle would look, and checks that no segment
 * the edit concerns stays (or becomes) PROVEN, with a line naming the check that failed.
 */

const CLIENT = 'client->nlb';

function proven(b: EvidenceBundle): string[] {
  return Object.entries(statuses(analyzeAtRun(b))).filter(([, s]) => s === 'proven').map(([id]) => id);
}

function findingText(b: EvidenceBundle): string {
  return analyzeAtRun(b).findings.filter((f) => f.code === 'bundle-inconsistent').map((f) => f.message).join('\n');
}

/** The parsed SecretsConfigDump entry of `name` in the gateway's dump. */
function editGatewaySecret(b: EvidenceBundle, name: string, edit: (secret: Record<string, any> | undefined, list: Record<string, any>[]) => void): void {
  editConfigDump(proxy(b, 'gateway'), (dump) => {
    const secrets = dump.configs.find((c) => String(c['@type']).endsWith('SecretsConfigDump')) as { dynamic_active_secrets: Record<string, any>[] };
    edit(secrets.dynamic_active_secrets.find((s) => s.name === name), secrets.dynamic_active_secrets);
  });
}

/**
 * The text of an Envoy DataSource (config.core.v3.DataSource): real Envoy dumps what SDS sent,
 * `inline_string` (the lab's recordings) or base64 `inline_bytes`, so read and write either form.
 */
function dataSourceText(ds: Record<string, any>): string {
  if (typeof ds.inline_string === 'string') return ds.inline_string;
  if (typeof ds.inline_bytes === 'string') return Buffer.from(ds.inline_bytes, 'base64').toString('utf8');
  throw new Error(`not an inline DataSource: ${Object.keys(ds).join(', ')}`);
}
function setDataSourceText(ds: Record<string, any>, text: string): void {
  if (typeof ds.inline_string === 'string') ds.inline_string = text;
  else ds.inline_bytes = Buffer.from(text).toString('base64');
}

describe('section 0: an NLB that terminates TLS is never proven when the credential cannot be compared', () => {
  const cases: [string, (b: EvidenceBundle) => void][] = [
    ['the gateway dump is missing', (b) => { proxy(b, 'gateway').admin.configDump = null; }],
    ['the gateway is unreachable', (b) => { const g = proxy(b, 'gateway'); g.reachable = false; g.errors = [{ endpoint: '/config_dump', phase: 'once', message: 'connection refused' }]; }],
    ['the gateway dump is truncated by one byte', (b) => { const a = proxy(b, 'gateway').admin.configDump!; a.body = a.body.slice(0, -1); }],
    ['a number in the credential is corrupted', (b) => editGatewaySecret(b, 'kubernetes://mesh-verify-credential', (s) => {
      const chain = s!.secret.tls_certificate.certificate_chain;
      const pem = dataSourceText(chain);
      const i = pem.indexOf('MII') + 40;
      setDataSourceText(chain, `${pem.slice(0, i)}${pem[i] === 'A' ? 'B' : 'A'}${pem.slice(i + 1)}`);
      expect(dataSourceText(chain)).not.toBe(pem);
    })],
    ['the secret is absent', (b) => editGatewaySecret(b, 'kubernetes://mesh-verify-credential', (_s, list) => {
      list.splice(list.findIndex((x) => x.name === 'kubernetes://mesh-verify-credential'), 1);
    })],
    ["the client's chain is empty", (b) => { b.client!.peerChain = []; }],
  ];
  /**
   * The recorded fault: the lab's NLB serves a certificate of its own CA, so the client could not
   * verify it (authorized: false), which alone keeps the client segment from being proven. The
   * issue's case is an NLB whose certificate the client does trust (issued by the gateway CA):
   * only the comparison with the gateway credential tells it apart. Plant that: the healthy run
   * (the client verified the chain), with the gateway's credential replaced by another real
   * certificate (the gateway credential of the nlb-terminates-tls run).
   */
  function trustedNlb(): EvidenceBundle {
    const b = loadFixture('healthy');
    let other = '';
    editGatewaySecret(loadFixture('nlb-terminates-tls'), 'kubernetes://mesh-verify-credential', (s) => { other = dataSourceText(s!.secret.tls_certificate.certificate_chain); });
    editGatewaySecret(b, 'kubernetes://mesh-verify-credential', (s) => {
      const chain = s!.secret.tls_certificate.certificate_chain;
      expect(dataSourceText(chain)).not.toBe(other);
      setDataSourceText(chain, other);
    });
    expect(b.client!.authorized).toBe(true);
    return b;
  }
  const bases: [string, () => EvidenceBundle][] = [['recorded', () => loadFixture('nlb-terminates-tls')], ['trusted-certificate', trustedNlb]];
  it('the committed fixture is contradicted on the client segment', () => {
    expect(segment(analyzeAtRun(loadFixture('nlb-terminates-tls')), CLIENT).status).toBe('contradicted');
  });
  it('an NLB whose certificate the client trusts is contradicted by the comparison alone', () => {
    const s = segment(analyzeAtRun(trustedNlb()), CLIENT);
    expect(s.status).toBe('contradicted');
    expect(s.summary).toContain('TLS was terminated before the gateway');
  });
  for (const [base, make] of bases) {
    for (const [name, edit] of cases) {
      it(`${name} (${base} NLB): ${CLIENT} is not proven`, () => {
        const b = make();
        edit(b);
        const s = segment(analyzeAtRun(b), CLIENT);
        expect(s.status).not.toBe('proven');
        if (s.status === 'inconclusive') expect(s.summary).toMatch(/not proven|could not be compared|not a TLS/);
      });
    }
  }
  it('the same gaps on a healthy bundle leave the client segment inconclusive, naming the comparison', () => {
    const b = loadFixture('healthy');
    proxy(b, 'gateway').admin.configDump = null;
    const s = segment(analyzeAtRun(b), CLIENT);
    expect(s.status).toBe('inconclusive');
    expect(s.summary).toContain('the gateway credential could not be compared');
  });
});

describe('section 1: the analyzer checks the bundle before judging it', () => {
  it('the healthy fixture passes every check (7/7 proven, no bundle-inconsistent finding)', () => {
    const b = loadFixture('healthy');
    expect(proven(b)).toHaveLength(7);
    expect(findingText(b)).toBe('');
  });

  it('no requests at all: nothing is proven', () => {
    const b = loadFixture('healthy');
    b.requests = [];
    expect(proven(b)).toEqual([]);
    expect(findingText(b)).toContain('records no requests of this run');
    expect(segment(analyzeAtRun(b), CLIENT).summary).toContain('bundle check run-requests failed');
  });

  it('only log lines of another run, with no requests: nothing is proven', () => {
    const b = loadFixture('healthy');
    b.requests = [];
    for (const p of b.proxies) editAccessLog(p, (e) => { e.mesh_verify_id = 'mv-another-run-1'; e.request_id = '00000000-0000-4000-8000-000000000000'; });
    expect(proven(b)).toEqual([]);
    expect(findingText(b)).toContain('belong to no request of this run');
  });

  it('log lines that belong to no request of this run keep their proxy\'s segments from being proven', () => {
    const b = loadFixture('healthy');
    const bff = proxy(b, 'bff');
    const line = JSON.parse(bff.accessLog[0]) as Record<string, unknown>;
    bff.accessLog.push(JSON.stringify({ ...line, mesh_verify_id: 'mv-another-run-9' }));
    const s = statuses(analyzeAtRun(b));
    expect(s['gateway->bff-sidecar']).not.toBe('proven');
    expect(s['bff-sidecar->svc-sidecar']).not.toBe('proven');
    expect(s[CLIENT]).toBe('proven');
    expect(findingText(b)).toContain('1 access-log line(s) of proxy "bff" belong to no request of this run');
  });

  it('an app answer recorded for a request but answering another one is not this run\'s evidence', () => {
    const b = loadFixture('healthy');
    b.requests[0].response!.meshVerifyId = 'mv-another-run-1';
    expect(proven(b)).toEqual([]);
    expect(findingText(b)).toContain('is the answer to "mv-another-run-1"');
  });

  it('every proxy marked unreachable: its captured data is not used, nothing behind it is proven', () => {
    const b = loadFixture('healthy');
    for (const p of b.proxies) p.reachable = false;
    const s = statuses(analyzeAtRun(b));
    for (const id of ['nlb->gateway', 'gateway->bff-sidecar', 'bff-sidecar->bff', 'bff->bff-sidecar', 'bff-sidecar->svc-sidecar', 'svc-sidecar->svc']) {
      expect(s[id], id).not.toBe('proven');
    }
    // the credential cannot be compared either (the gateway's dump is not used)
    expect(s[CLIENT]).not.toBe('proven');
    expect(findingText(b)).toContain('is marked unreachable but its capture holds data (not used)');
  });

  it('every request failed (no status) while the access logs say 200: nothing is proven', () => {
    const b = loadFixture('healthy');
    for (const r of b.requests) { r.status = null; r.error = 'ECONNRESET'; }
    expect(proven(b)).toEqual([]);
    const text = findingText(b);
    expect(text).toContain('every request of this run failed at the client (5 of 5 without a status)');
    expect(text).toMatch(/failed at the client \("ECONNRESET"\), but proxy "gateway" logged 200 for it/);
  });

  it('one request that failed at the client but is logged as 200 is a warning (a client timeout after the answer)', () => {
    const b = loadFixture('healthy');
    b.requests[2].status = null;
    b.requests[2].error = 'timeout after 5000 ms';
    expect(proven(b)).toHaveLength(7);
    const f = analyzeAtRun(b).findings.find((x) => x.code === 'bundle-inconsistent');
    expect(f?.severity).toBe('warning');
    expect(f?.message).toContain(`request "${b.requests[2].id}" failed at the client ("timeout after 5000 ms"), but proxy "gateway" logged 200 for it`);
  });

  it('a fault bundle with a second, healthy capture of the same proxy ids: refused on load, and the fault is not hidden', () => {
    const b = loadFixture('plaintext-gateway-bff');
    const healthy = loadFixture('healthy');
    b.proxies.push(...healthy.proxies);
    expect(() => parseBundle('merged.json', JSON.stringify(b))).toThrow(/merged\.json: is not consistent \(check unique-proxy-ids failed\): proxy id "gateway" is captured more than once/);
    const r = analyzeAtRun(b);
    expect(segment(r, 'gateway->bff-sidecar').status).toBe('contradicted');
    expect(r.overall).not.toBe('proven');
    expect(proven(b)).toEqual([]);
  });

  it('the same pod captured twice under two ids is refused on load', () => {
    const b = loadFixture('healthy');
    const copy = JSON.parse(JSON.stringify(proxy(b, 'svc'))) as typeof b.proxies[number];
    copy.id = 'svc-2';
    b.proxies.push(copy);
    expect(() => parseBundle('b.json', JSON.stringify(b))).toThrow(/check unique-captures failed\): pod "mesh-verify\/svc-[^"]+" is captured twice/);
  });

  it('one request id recorded twice is refused on load', () => {
    const b = loadFixture('healthy');
    b.requests.push(JSON.parse(JSON.stringify(b.requests[0])));
    expect(() => parseBundle('b.json', JSON.stringify(b))).toThrow(/check unique-request-ids failed/);
  });

  it('the gateway credential is self-signed and the client could not verify it: the client segment is not proven', () => {
    const b = loadFixture('healthy');
    // the external CA's own certificate is self-signed: present it as the gateway's credential
    const ca = b.path.gatewayCaPem!;
    b.client!.peerChain = [{ ...b.client!.peerChain[0], pem: ca, subject: 'CN=self-signed', issuer: 'CN=self-signed' }];
    b.client!.authorized = false;
    b.client!.authorizationError = 'DEPTH_ZERO_SELF_SIGNED_CERT';
    const r = analyzeAtRun(b);
    const s = segment(r, CLIENT);
    expect(s.status).not.toBe('proven');
    expect(findingText(b)).toContain('is self-signed');
    expect(s.summary).toContain('could not verify the server\'s certificate');
    expect(r.findings.map((f) => f.code)).toContain('client-chain-untrusted');
  });

  it('a client that could not verify the chain proves no TLS to the gateway', () => {
    const b = loadFixture('healthy');
    b.client!.authorized = false;
    b.client!.authorizationError = 'UNABLE_TO_VERIFY_LEAF_SIGNATURE';
    const r = analyzeAtRun(b);
    expect(segment(r, CLIENT).status).toBe('inconclusive');
    expect(segment(r, CLIENT).summary).toContain('could not verify the server\'s certificate against the gateway CA ("UNABLE_TO_VERIFY_LEAF_SIGNATURE")');
    expect(r.findings.find((f) => f.code === 'client-chain-untrusted')?.message).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    // what the run showed, not a defect of the bundle
    expect(findingText(b)).toBe('');
  });

  it('a real recording of an NLB with its own CA (authorized: false, honestly recorded) is not called inconsistent', () => {
    const b = loadFixture('nlb-terminates-tls');
    expect(b.client!.authorized).toBe(false);
    const r = analyzeAtRun(b);
    expect(findingText(b)).toBe('');
    expect(segment(r, CLIENT).status).toBe('contradicted');
    expect(segment(r, CLIENT).summary).toContain('TLS was terminated before the gateway');
  });

  it('`authorized: true` for a chain that does not verify against the recorded gateway CA is re-verified, not trusted', () => {
    const b = loadFixture('healthy');
    const foreign = loadFixture('foreign-root');
    // another CA: the mesh root of the gateway's config dump
    let root = '';
    editConfigDump(proxy(foreign, 'gateway'), (dump) => {
      const secrets = dump.configs.find((c) => String(c['@type']).endsWith('SecretsConfigDump')) as { dynamic_active_secrets: Record<string, any>[] };
      const s = secrets.dynamic_active_secrets.find((x) => x.name === 'ROOTCA');
      root = dataSourceText(s!.secret.validation_context.trusted_ca);
    });
    expect(root).toContain('BEGIN CERTIFICATE');
    b.path.gatewayCaPem = root;
    expect(b.client!.authorized).toBe(true);
    const s = segment(analyzeAtRun(b), CLIENT);
    expect(s.status).toBe('inconclusive');
    expect(s.summary).toContain('does not chain to the recorded gateway CA');
  });

  it('`authorized: true` without a recorded gateway CA cannot be re-verified', () => {
    const b = loadFixture('healthy');
    b.path.gatewayCaPem = null;
    expect(segment(analyzeAtRun(b), CLIENT).status).toBe('inconclusive');
    expect(findingText(b)).toContain('records no gateway CA');
  });

  it('the client\'s TLS version "none" is no TLS evidence', () => {
    const b = loadFixture('healthy');
    b.client!.tlsVersion = 'none';
    const s = segment(analyzeAtRun(b), CLIENT);
    expect(s.status).toBe('inconclusive');
    expect(s.summary).toContain('"none" is not a TLS protocol version');
  });

  it('the NULL cipher contradicts TLS on the client segment', () => {
    for (const cipher of ['NULL', 'TLS_RSA_WITH_NULL_SHA256', 'NULL-SHA']) {
      const b = loadFixture('healthy');
      b.client!.cipher = cipher;
      const s = segment(analyzeAtRun(b), CLIENT);
      expect(s.status, cipher).toBe('contradicted');
      expect(s.summary).toContain('NULL cipher');
    }
  });

  // An XFCC Hash that is not the caller's certificate: test/analyze/verdict-rules.test.ts.

  it('a request sent outside the run window: nothing is proven', () => {
    const b = loadFixture('healthy');
    b.requests[0].sentAt = '2026-03-01T10:00:00.000Z';
    expect(proven(b)).toEqual([]);
    expect(findingText(b)).toContain('outside the run');
  });

  it('a capture taken outside the run window, or "after" before "before", is not trusted', () => {
    const b = loadFixture('healthy');
    proxy(b, 'svc').admin.statsAfter!.capturedAt = '2026-03-03T10:00:00.000Z';
    const s = statuses(analyzeAtRun(b));
    expect(s['bff-sidecar->svc-sidecar']).not.toBe('proven');
    expect(s['svc-sidecar->svc']).not.toBe('proven');
    expect(s['gateway->bff-sidecar']).toBe('proven');

    const c = loadFixture('healthy');
    const g = proxy(c, 'gateway').admin;
    [g.statsBefore!.capturedAt, g.statsAfter!.capturedAt] = [g.statsAfter!.capturedAt, g.statsBefore!.capturedAt];
    expect(statuses(analyzeAtRun(c))['nlb->gateway']).not.toBe('proven');
    expect(findingText(c)).toContain('statsAfter of proxy "gateway" was captured before its statsBefore');
  });

  it('counters that go backwards between captures are not trusted', () => {
    const b = loadFixture('healthy');
    const g = proxy(b, 'gateway').admin;
    const before = g.statsBefore!.body.match(/^listener\.0\.0\.0\.0_8443\.ssl\.handshake: (\d+)$/m);
    expect(before).not.toBeNull();
    g.statsAfter!.body = g.statsAfter!.body.replace(/^listener\.0\.0\.0\.0_8443\.ssl\.handshake: \d+$/m, `listener.0.0.0.0_8443.ssl.handshake: ${Number(before![1]) - 1}`);
    const s = statuses(analyzeAtRun(b));
    expect(s['nlb->gateway']).not.toBe('proven');
    expect(findingText(b)).toMatch(/counter "listener\.0\.0\.0\.0_8443\.ssl\.handshake" of proxy "gateway" went backwards/);
  });

  /**
   * Upstream Envoy (the lab's recordings) has no istio_requests_total; an Istio sidecar exports one
   * series per label set from /stats/prometheus (labels as in Istio's standard metrics). Plant the
   * destination series of this run's requests on bff: `before` in the before scrape, grown by the
   * run's request count in the after one, as a real sidecar would show them.
   */
  const ISTIO_LINE = (value: number): string => 'istio_requests_total{reporter="destination",source_workload="istio-ingressgateway",'
    + 'source_workload_namespace="istio-system",source_principal="spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",'
    + 'destination_workload="bff",destination_workload_namespace="mesh-verify",destination_principal="spiffe://cluster.local/ns/mesh-verify/sa/bff",'
    + 'destination_service="bff.mesh-verify.svc.cluster.local",destination_service_name="bff",request_protocol="http",response_code="200",'
    + `response_flags="-",connection_security_policy="mutual_tls"} ${value}`;
  function plantIstioRequests(b: EvidenceBundle, before: number): { before: number; after: number } {
    const a = proxy(b, 'bff').admin;
    const after = before + b.requests.length;
    expect(a.prometheusBefore!.body).not.toContain('istio_requests_total');
    const add = (body: string, v: number): string => `${body.replace(/\n*$/, '\n')}# TYPE istio_requests_total counter\n${ISTIO_LINE(v)}\n`;
    a.prometheusBefore!.body = add(a.prometheusBefore!.body, before);
    a.prometheusAfter!.body = add(a.prometheusAfter!.body, after);
    return { before, after };
  }

  it('planted istio_requests_total series that grow during the run are trusted (the base of the next two cases)', () => {
    const b = loadFixture('healthy');
    plantIstioRequests(b, 40);
    expect(proven(b)).toHaveLength(7);
    expect(findingText(b)).toBe('');
  });

  it('istio_requests_total going backwards is not trusted either', () => {
    const b = loadFixture('healthy');
    const { after } = plantIstioRequests(b, 40);
    const a = proxy(b, 'bff').admin;
    // the before scrape higher than the after one, for the series of this run's requests
    a.prometheusBefore!.body = a.prometheusBefore!.body.replace(ISTIO_LINE(40), ISTIO_LINE(after + 5));
    expect(a.prometheusBefore!.body).toContain(ISTIO_LINE(after + 5));
    const s = statuses(analyzeAtRun(b));
    expect(s['gateway->bff-sidecar']).not.toBe('proven');
    expect(findingText(b)).toContain(`istio_requests_total of proxy "bff" went backwards (${after + 5} -> ${after})`);
  });

  it('an istio_requests_total series that vanishes between scrapes is not trusted', () => {
    const b = loadFixture('healthy');
    const { after } = plantIstioRequests(b, 40);
    const a = proxy(b, 'bff').admin.prometheusAfter!;
    a.body = a.body.split('\n').filter((l) => l !== ISTIO_LINE(after)).join('\n');
    // another series is still scraped after the run (the check needs an after scrape with series)
    a.body += `${ISTIO_LINE(after).replace('response_code="200"', 'response_code="503"')}\n`;
    expect(statuses(analyzeAtRun(b))['gateway->bff-sidecar']).not.toBe('proven');
    expect(findingText(b)).toMatch(/1 istio_requests_total series of proxy "bff" are in the before scrape but not in the after one/);
  });

  it('a counter that vanishes between captures is not trusted', () => {
    const b = loadFixture('healthy');
    const g = proxy(b, 'gateway').admin;
    g.statsAfter!.body = g.statsAfter!.body.split('\n').filter((l) => !l.startsWith('listener.0.0.0.0_8443.ssl.handshake:')).join('\n');
    expect(statuses(analyzeAtRun(b))['nlb->gateway']).not.toBe('proven');
    expect(findingText(b)).toContain('counter "listener.0.0.0.0_8443.ssl.handshake" of proxy "gateway" is in the before capture but not in the after one');
  });

  it('`mesh-verify analyze` refuses an inconsistent bundle: exit 2, one line naming the check', async () => {
    const b = loadFixture('plaintext-gateway-bff');
    b.proxies.push(...loadFixture('healthy').proxies);
    const dir = mkdtempSync(join(tmpdir(), 'mv-integrity-'));
    try {
      const file = join(dir, 'merged.bundle.json');
      writeFileSync(file, JSON.stringify(b));
      const r = await runCli('analyze', file);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        `mesh-verify: ${file}: is not consistent (check unique-proxy-ids failed): proxy id "gateway" is captured more than once (fix: capture the run again; an edited or merged bundle is not evidence)`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a changed expected identity is compared: refused on load, and nothing is proven by the analyzer', () => {
    const b = loadFixture('healthy');
    proxy(b, 'svc').expectedIdentity = 'spiffe://cluster.local/ns/mesh-verify/sa/attacker';
    expect(() => parseBundle('b.json', JSON.stringify(b))).toThrow(/check expected-identity failed\): proxy "svc" expects identity "spiffe:\/\/cluster\.local\/ns\/mesh-verify\/sa\/attacker", but segment "bff-sidecar->svc-sidecar" expects/);
    expect(proven(b)).toEqual([]);
  });

  it('the refusal on load is one line', () => {
    const b = loadFixture('healthy');
    b.proxies.push(JSON.parse(JSON.stringify(b.proxies[0])));
    try {
      parseBundle('b.json', JSON.stringify(b));
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
