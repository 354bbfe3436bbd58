import { beforeAll, describe, expect, it } from 'vitest';
import { createIntermediateCa, createRootCa, issueCertificate, type Authority } from '../../src/pki/ca.js';
import { decodeCertificates } from '../../src/envoy/certificate.js';
import type { InboundMode, ProxyPosture, SecretInfo } from '../../src/envoy/types.js';
import { effectivePeerAuthentication } from '../../src/analyze/audit/peer-authentication.js';
import { createAuditJudge } from '../../src/analyze/audit/judge.js';
import { policyFindings, qualifyHost } from '../../src/analyze/audit/policy-rules.js';
import { auditExitCode, countFindings } from '../../src/analyze/audit/audit-report.js';
import { hostMatches } from '../../src/analyze/audit/proxy-rules.js';
import type { AuditOptions, ControlPlaneFacts, MeshPolicy, PeerAuthenticationFacts, PodFacts } from '../../src/analyze/audit/types.js';

const NOW = new Date('2025-06-01T12:00:00Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const OPTS: AuditOptions = { minCertDays: 30, targetVersion: null, now: NOW, rootNamespace: 'istio-system' };

function pa(namespace: string, name: string, mode: PeerAuthenticationFacts['mode'], selector: Record<string, string> | null = null,
  portLevel: PeerAuthenticationFacts['portLevel'] = {}, createdAt = '2025-01-01T00:00:00Z'): PeerAuthenticationFacts {
  return { namespace, name, mode, selector, portLevel, createdAt };
}

function pod(namespace: string, name: string, extra: Partial<PodFacts> = {}): PodFacts {
  return { namespace, name, labels: { app: name }, annotations: {}, serviceAccount: name, ip: '10.0.0.1', hasSidecar: true, gateway: false,
    nativeSidecar: false, dataplaneMode: null, ambientRedirection: null, revision: 'default', problem: null, ports: [8080], ...extra };
}

describe('effective PeerAuthentication (mesh > namespace > workload > port)', () => {
  const p = pod('shop', 'cart');
  it('defaults to PERMISSIVE without any policy', () => {
    expect(effectivePeerAuthentication(p, 8080, [], 'istio-system')).toEqual({ mode: 'PERMISSIVE', source: 'mesh default (no PeerAuthentication)' });
  });
  it('applies mesh, then namespace, then workload, then port level', () => {
    const policies = [
      pa('istio-system', 'default', 'STRICT'),
      pa('shop', 'default', 'PERMISSIVE'),
      pa('shop', 'cart', 'STRICT', { app: 'cart' }, { 9090: 'DISABLE' }),
    ];
    expect(effectivePeerAuthentication(p, 8080, policies.slice(0, 1), 'istio-system').mode).toBe('STRICT');
    expect(effectivePeerAuthentication(p, 8080, policies.slice(0, 2), 'istio-system').mode).toBe('PERMISSIVE');
    expect(effectivePeerAuthentication(p, 8080, policies, 'istio-system')).toEqual({ mode: 'STRICT', source: 'PeerAuthentication shop/cart' });
    expect(effectivePeerAuthentication(p, 9090, policies, 'istio-system')).toEqual({ mode: 'DISABLE', source: 'PeerAuthentication shop/cart port 9090' });
    // The catch-all (port 0) never takes a port-level mode.
    expect(effectivePeerAuthentication(p, 0, policies, 'istio-system').mode).toBe('STRICT');
  });
  it('UNSET inherits; a selector that does not match is ignored; the oldest policy of a level wins', () => {
    const policies = [
      pa('istio-system', 'default', 'STRICT'),
      pa('shop', 'unset', null, { app: 'cart' }),
      pa('shop', 'other', 'DISABLE', { app: 'payments' }),
      pa('shop', 'newer', 'PERMISSIVE', null, {}, '2025-03-01T00:00:00Z'),
      pa('shop', 'older', 'STRICT', null, {}, '2024-03-01T00:00:00Z'),
    ];
    expect(effectivePeerAuthentication(p, 8080, policies, 'istio-system')).toEqual({ mode: 'STRICT', source: 'PeerAuthentication shop/older' });
  });
  it('a policy in another namespace does not apply', () => {
    expect(effectivePeerAuthentication(p, 8080, [pa('other', 'default', 'DISABLE')], 'istio-system').mode).toBe('PERMISSIVE');
  });
});

describe('proxy rules', () => {
  let root: Authority;
  let oldRoot: Authority;
  let inter: Authority;
  let external: Authority;
  let cp: ControlPlaneFacts;
  const secret = (name: string, pem: string, state: 'active' | 'warming' = 'active'): SecretInfo => {
    const chain = decodeCertificates(pem);
    return { name, state, kind: name === 'ROOTCA' ? 'trust-bundle' : 'certificate', uriSans: chain[0]?.uriSans ?? [], notAfter: chain[0]?.notAfter ?? null, expired: null, chain };
  };
  const leaf = async (ca: Authority, notBeforeMs: number, notAfterMs: number) => {
    const c = await issueCertificate(ca, { uriSans: ['spiffe://cluster.local/ns/shop/sa/cart'], notBeforeMs, notAfterMs, now: NOW });
    return c.certPem + (ca === inter ? inter.chainPem : '');
  };
  const posture = (inbound: [number, InboundMode][], secrets: SecretInfo[], version = '1.22.3'): ProxyPosture => ({
    proxy: { type: 'sidecar', id: null, istioVersion: version },
    inbound: inbound.map(([port, mode]) => ({ port, mode, inEffect: true, listener: 'virtualInbound' })),
    listeners: [], clusters: [], secrets,
  });
  const policy = (pas: PeerAuthenticationFacts[]): MeshPolicy => ({ namespaces: [], pods: [], services: [], peerAuthentications: pas, destinationRules: [] });

  beforeAll(async () => {
    root = await createRootCa('test root', { now: NOW, notAfterMs: 3650 * DAY });
    oldRoot = await createRootCa('test old root', { now: NOW, notAfterMs: 3650 * DAY });
    inter = await createIntermediateCa(root, 'test intermediate', { now: NOW, notAfterMs: 10 * DAY });
    external = await createRootCa('test external', { now: NOW });
    cp = { istiods: [{ namespace: 'istio-system', name: 'istiod', revision: 'default', version: '1.22.3', image: 'docker.io/istio/pilot:1.22.3', replicas: 1, readyReplicas: 1 }],
      rootPems: [root.certPem], rootSource: 'configmap istio-system/istio-ca-root-cert' };
  });

  it('drift: STRICT policy but the proxy accepts plaintext, per port; the reverse is a warning', async () => {
    const chain = await leaf(inter, -HOUR, 23 * HOUR);
    const judge = createAuditJudge(cp, policy([pa('istio-system', 'default', 'STRICT'), pa('shop', 'cart', null, { app: 'cart' }, { 9090: 'PERMISSIVE' })]), OPTS);
    const f = judge.judgeProxy({ ok: true, pod: pod('shop', 'cart'), posture: posture([[0, 'STRICT'], [8080, 'PERMISSIVE'], [9090, 'STRICT']], [secret('default', chain), secret('ROOTCA', root.certPem)]) });
    expect(f.map((x) => [x.code, x.object, x.severity])).toEqual([
      ['drift-accepts-plaintext', 'pod shop/cart port 8080', 'error'],
      ['drift-stricter-than-policy', 'pod shop/cart port 9090', 'warning'],
    ]);
    expect(f[0].evidence.map((e) => e.subject)).toEqual(['listener virtualInbound port 8080', 'PeerAuthentication istio-system/default']);
  });

  it('PERMISSIVE and DISABLE that match the policy are reported as such (catch-all as port *)', async () => {
    const chain = await leaf(inter, -HOUR, 23 * HOUR);
    const judge = createAuditJudge(cp, policy([pa('shop', 'default', 'PERMISSIVE'), pa('shop', 'cart', null, { app: 'cart' }, { 9090: 'DISABLE' })]), OPTS);
    const f = judge.judgeProxy({ ok: true, pod: pod('shop', 'cart'), posture: posture([[0, 'PERMISSIVE'], [9090, 'PLAINTEXT']], [secret('default', chain), secret('ROOTCA', root.certPem)]) });
    expect(f.map((x) => [x.code, x.object])).toEqual([['inbound-permissive', 'pod shop/cart port *'], ['inbound-plaintext', 'pod shop/cart port 9090']]);
  });

  it('certificates: expired, not rotated, stale root and stale trust bundle', async () => {
    const judge = createAuditJudge(cp, policy([]), OPTS);
    const run = async (pem: string, rootPem = root.certPem) => judge.judgeProxy({ ok: true, pod: pod('shop', 'cart'), posture: posture([], [secret('default', pem), secret('ROOTCA', rootPem)]) }).map((x) => x.code);
    expect(await run(await leaf(inter, -HOUR, 23 * HOUR))).toEqual([]);
    expect(await run(await leaf(inter, -26 * HOUR, -2 * HOUR))).toEqual(['workload-cert-expired']);
    expect(await run(await leaf(inter, -22 * HOUR, 2 * HOUR))).toEqual(['workload-cert-not-rotated']);
    expect(await run(await leaf(oldRoot, -HOUR, 23 * HOUR), oldRoot.certPem)).toEqual(['workload-cert-untrusted-root', 'trust-bundle-stale']);
    expect(judge.judgeProxy({ ok: true, pod: pod('shop', 'cart'), posture: posture([], []) }).map((x) => x.code)).toEqual(['workload-cert-missing']);
  });

  it('intermediates seen in chains are checked against --min-cert-days once', async () => {
    const judge = createAuditJudge(cp, policy([]), OPTS);
    for (const name of ['a', 'b']) judge.judgeProxy({ ok: true, pod: pod('shop', name), posture: posture([], [secret('default', await leaf(inter, -HOUR, 23 * HOUR)), secret('ROOTCA', root.certPem)]) });
    const f = judge.finish().filter((x) => x.code.startsWith('intermediate'));
    expect(f.map((x) => [x.code, x.object])).toEqual([['intermediate-cert-expiring', `intermediate CN=test intermediate, O=mesh-verify (serial ${inter.cert.serialNumber.toUpperCase()})`]]);
    const lenient = createAuditJudge(cp, policy([]), { ...OPTS, minCertDays: 5 });
    lenient.judgeProxy({ ok: true, pod: pod('shop', 'a'), posture: posture([], [secret('default', await leaf(inter, -HOUR, 23 * HOUR)), secret('ROOTCA', root.certPem)]) });
    expect(lenient.finish().filter((x) => x.code.startsWith('intermediate'))).toEqual([]);
  });

  it('gateway credentials: expiring, host not covered, warming SDS secret', async () => {
    const expiring = await issueCertificate(external, { dnsSans: ['api.example.com'], notAfterMs: 9 * DAY, now: NOW });
    const wrongHost = await issueCertificate(external, { dnsSans: ['*.shop.example.com'], notAfterMs: 90 * DAY, now: NOW });
    const gw = posture([], [secret('default', await leaf(inter, -HOUR, 23 * HOUR)), secret('ROOTCA', root.certPem),
      secret('kubernetes://api', expiring.certPem), secret('kubernetes://shop', wrongHost.certPem),
      { name: 'kubernetes://admin', state: 'warming', kind: 'unknown', uriSans: [], notAfter: null, expired: null, chain: [] }]);
    const chain = (host: string, s: string) => ({ name: null, destinationPort: null, transportProtocol: null, serverNames: [host], applicationProtocols: [], tls: 'tls' as const, requireClientCertificate: false, certificateSecrets: [s], validationSecret: null });
    gw.listeners = [{ name: '0.0.0.0_8443', address: '0.0.0.0', port: 8443, state: 'active', downstreamTls: 'tls', secrets: [],
      filterChains: [chain('api.example.com', 'kubernetes://api'), chain('www.shop.example.com', 'kubernetes://shop'), chain('shop.example.com', 'kubernetes://shop')] }];
    const judge = createAuditJudge(cp, policy([]), OPTS);
    const f = judge.judgeProxy({ ok: true, pod: pod('istio-system', 'gw', { gateway: true }), posture: gw });
    expect(f.map((x) => [x.code, x.object])).toEqual([
      ['sds-secret-warming', 'secret kubernetes://admin on pod istio-system/gw'],
      ['gateway-cert-expiring', 'secret kubernetes://api on pod istio-system/gw'],
      ['gateway-cert-host-mismatch', 'secret kubernetes://shop on pod istio-system/gw'],
    ]);
    expect(f[2].message).toContain('shop.example.com');
    expect(f[2].message).not.toContain('www.shop.example.com,');
  });

  // Gateway API listeners get their certificates as `kubernetes-gateway://NS/NAME` (Istio 1.30.3
  // pilot/pkg/model/credentials/resource.go: KubernetesGatewaySecretType; pilot/pkg/config/kube/gateway/conversion_test.go
  // names them e.g. kubernetes-gateway://default/wildcard-example-com-cert): the same checks as kubernetes://.
  it('Gateway API credentials (kubernetes-gateway://NS/NAME): expiry, host coverage, warming', async () => {
    const expired = await issueCertificate(external, { dnsSans: ['store.example.com'], notBeforeMs: -40 * DAY, notAfterMs: -DAY, now: NOW });
    const expiring = await issueCertificate(external, { dnsSans: ['api.example.com'], notAfterMs: 9 * DAY, now: NOW });
    const wrongHost = await issueCertificate(external, { dnsSans: ['*.example.org'], notAfterMs: 90 * DAY, now: NOW });
    const gw = posture([], [secret('default', await leaf(inter, -HOUR, 23 * HOUR)), secret('ROOTCA', root.certPem),
      secret('kubernetes-gateway://edge/store', expired.certPem), secret('kubernetes-gateway://edge/api', expiring.certPem),
      secret('kubernetes-gateway://certs/docs', wrongHost.certPem),
      { name: 'kubernetes-gateway://edge/billing', state: 'warming', kind: 'unknown', uriSans: [], notAfter: null, expired: null, chain: [] }]);
    gw.proxy.type = 'router';
    const chain = (host: string, s: string) => ({ name: null, destinationPort: null, transportProtocol: null, serverNames: [host], applicationProtocols: [], tls: 'tls' as const, requireClientCertificate: false, certificateSecrets: [s], validationSecret: null });
    gw.listeners = [{ name: '0.0.0.0_443', address: '0.0.0.0', port: 443, state: 'active', downstreamTls: 'tls', secrets: [],
      filterChains: [chain('store.example.com', 'kubernetes-gateway://edge/store'), chain('api.example.com', 'kubernetes-gateway://edge/api'), chain('docs.example.com', 'kubernetes-gateway://certs/docs')] }];
    const f = createAuditJudge(cp, policy([]), OPTS).judgeProxy({ ok: true, pod: pod('edge', 'web-istio', { gateway: true }), posture: gw });
    expect(f.map((x) => [x.code, x.object])).toEqual([
      ['sds-secret-warming', 'secret kubernetes-gateway://edge/billing on pod edge/web-istio'],
      ['gateway-cert-expired', 'secret kubernetes-gateway://edge/store on pod edge/web-istio'],
      ['gateway-cert-expiring', 'secret kubernetes-gateway://edge/api on pod edge/web-istio'],
      ['gateway-cert-host-mismatch', 'secret kubernetes-gateway://certs/docs on pod edge/web-istio'],
    ]);
    expect(f[0].fix).toContain('TLS Secret billing in namespace edge');
    expect(f[1].message).toContain('gateway credential edge/store expired');
    expect(f[3].message).toContain('does not cover docs.example.com');
  });

  it("the proxy's node role decides gateway or sidecar, not the pod's guess", async () => {
    const secrets = [secret('default', await leaf(inter, -HOUR, 23 * HOUR)), secret('ROOTCA', root.certPem)];
    const judge = createAuditJudge(cp, policy([pa('istio-system', 'default', 'STRICT')]), OPTS);
    const permissive = posture([[8080, 'PERMISSIVE']], secrets);
    // A pod taken for a gateway whose node id says sidecar~: its inbound drift is still judged.
    expect(judge.judgeProxy({ ok: true, pod: pod('shop', 'cart', { gateway: true }), posture: permissive }).map((x) => x.code)).toEqual(['drift-accepts-plaintext']);
    const router = posture([[8080, 'PERMISSIVE']], secrets);
    router.proxy.type = 'router';
    expect(judge.judgeProxy({ ok: true, pod: pod('shop', 'cart'), posture: router }).map((x) => x.code)).toEqual([]);
  });

  it('versions: one minor behind warns, two behind or ahead is unsupported, --target-version looks ahead', async () => {
    const secrets = [secret('default', await leaf(inter, -HOUR, 23 * HOUR)), secret('ROOTCA', root.certPem)];
    const codes = (v: string, target: string | null = null) => createAuditJudge(cp, policy([]), { ...OPTS, targetVersion: target })
      .judgeProxy({ ok: true, pod: pod('shop', 'cart'), posture: posture([], secrets, v) }).map((x) => x.code);
    expect(codes('1.22.1')).toEqual([]);
    expect(codes('1.21.4')).toEqual(['proxy-version-skew']);
    expect(codes('1.20.8')).toEqual(['proxy-version-unsupported']);
    expect(codes('1.23.0')).toEqual(['proxy-version-unsupported']);
    expect(codes('1.22.3', '1.24')).toEqual(['proxy-skew-after-upgrade']);
    expect(codes('1.22.3', '1.23')).toEqual([]);
  });

  it('listeners in error state and unreadable proxies are findings, not crashes', () => {
    const judge = createAuditJudge(cp, policy([]), OPTS);
    const p = posture([], []);
    p.listeners = [{ name: '0.0.0.0_9411', address: null, port: 9411, state: 'error', downstreamTls: 'none', secrets: [], filterChains: [], error: 'duplicate matcher' }];
    expect(judge.judgeProxy({ ok: true, pod: pod('shop', 'cart'), posture: p }).map((x) => x.code)).toContain('listener-error');
    const u = judge.judgeProxy({ ok: false, pod: pod('shop', 'gone'), error: 'connection refused', attempts: 2 });
    expect(u.map((x) => [x.code, x.severity, x.object])).toEqual([['proxy-unreadable', 'warning', 'pod shop/gone']]);
  });

  it('control plane: missing istiod, expiring root', async () => {
    const soon = await createRootCa('short root', { now: NOW, notAfterMs: 10 * DAY });
    const judge = createAuditJudge({ istiods: [], rootPems: [soon.certPem], rootSource: 'configmap istio-system/istio-ca-root-cert' }, policy([]), OPTS);
    expect(judge.finish().map((x) => x.code)).toEqual(['control-plane-missing', 'root-cert-expiring']);
  });
});

describe('policy rules', () => {
  const svc = (namespace: string, name: string) => ({ namespace, name, selector: { app: name }, ports: [{ port: 8080, targetPort: 8080, name: 'http' }] });
  const base = (): MeshPolicy => ({
    namespaces: [{ name: 'shop', injected: true, revision: 'default', dataplaneMode: null }, { name: 'legacy', injected: false, revision: null, dataplaneMode: null }],
    pods: [pod('shop', 'cart'), pod('shop', 'batch', { hasSidecar: false }), pod('legacy', 'ledger', { hasSidecar: false })],
    services: [svc('shop', 'cart'), svc('shop', 'batch'), svc('legacy', 'ledger')],
    peerAuthentications: [],
    destinationRules: [],
  });
  it('pods without sidecar in injected namespaces, and the services they make plaintext', () => {
    const f = policyFindings(base());
    expect(f.map((x) => [x.code, x.object, x.severity])).toEqual([
      ['pod-without-sidecar', 'pod shop/batch', 'error'],
      ['plaintext-endpoint', 'Service shop/batch', 'error'],
      ['plaintext-endpoint-outside-mesh', 'namespace legacy', 'info'],
    ]);
  });
  // Ambient pods have no sidecar but are in the mesh. istio-cni's default enablement selectors
  // (Istio 1.30.3 manifests/charts/istio-cni/values.yaml): pod label istio.io/dataplane-mode=ambient,
  // or namespace label ambient and pod label not `none`; a pod with a sidecar never (cni/pkg/util/enablement_selector.go).
  it('ambient pods are neither pods without sidecar nor plaintext endpoints: one info finding says they are not verified', () => {
    const p = base();
    p.namespaces.push({ name: 'mall', injected: false, revision: null, dataplaneMode: 'ambient' });
    p.pods.push(
      // a workload moved to ambient inside a sidecar namespace: opted out of injection, labelled ambient
      pod('shop', 'search', { hasSidecar: false, labels: { app: 'search', 'sidecar.istio.io/inject': 'false', 'istio.io/dataplane-mode': 'ambient' }, dataplaneMode: 'ambient', ambientRedirection: 'enabled' }),
      pod('mall', 'front', { hasSidecar: false }),
      pod('mall', 'front-2', { hasSidecar: false, labels: { app: 'front' } }),
      // opted out of ambient in an ambient namespace: really outside the mesh
      pod('mall', 'cron', { hasSidecar: false, labels: { app: 'cron', 'istio.io/dataplane-mode': 'none' }, dataplaneMode: 'none' }),
    );
    p.services.push(svc('shop', 'search'), svc('mall', 'front'), svc('mall', 'cron'));
    const f = policyFindings(p);
    expect(f.map((x) => [x.code, x.object, x.severity])).toEqual([
      ['pod-without-sidecar', 'pod shop/batch', 'error'],
      ['plaintext-endpoint', 'Service shop/batch', 'error'],
      ['plaintext-endpoint-outside-mesh', 'namespace legacy', 'info'],
      ['plaintext-endpoint-outside-mesh', 'namespace mall', 'info'],
      ['ambient-not-verified', 'ambient pods in 2 namespace(s)', 'info'],
    ]);
    expect(f[3].message).toContain(': cron');
    expect(f[4].message).toContain('3 pod(s) run in ambient mode (ztunnel, no sidecar) in shop (1), mall (2)');
  });

  it('DestinationRules that disable or downgrade TLS to in-mesh hosts only', () => {
    const p = base();
    p.destinationRules = [
      { namespace: 'shop', name: 'off', host: 'cart', tls: [{ where: 'trafficPolicy', mode: 'DISABLE' }] },
      { namespace: 'other', name: 'simple', host: 'cart.shop.svc.cluster.local', tls: [{ where: 'subset v1 port 8080', mode: 'SIMPLE' }] },
      { namespace: 'shop', name: 'fine', host: 'cart', tls: [{ where: 'trafficPolicy', mode: 'ISTIO_MUTUAL' }] },
      { namespace: 'shop', name: 'external', host: 'api.example.com', tls: [{ where: 'trafficPolicy', mode: 'SIMPLE' }] },
      { namespace: 'legacy', name: 'no-sidecar-target', host: 'ledger', tls: [{ where: 'trafficPolicy', mode: 'DISABLE' }] },
    ];
    const f = policyFindings(p).filter((x) => x.code.startsWith('destinationrule'));
    expect(f.map((x) => [x.code, x.object])).toEqual([
      ['destinationrule-tls-disabled', 'DestinationRule shop/off'],
      ['destinationrule-tls-simple', 'DestinationRule other/simple'],
    ]);
  });
  it('host qualification and wildcard certificate matching', () => {
    expect(qualifyHost('cart', 'shop')).toBe('cart.shop.svc.cluster.local');
    expect(qualifyHost('cart.shop', 'x')).toBe('cart.shop.svc.cluster.local');
    expect(qualifyHost('api.example.com', 'x')).toBe('api.example.com');
    expect(hostMatches('*.example.com', 'a.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'a.b.example.com')).toBe(false);
    expect(hostMatches('*.example.com', 'example.com')).toBe(false);
  });
});

describe('exit code', () => {
  it('errors win over unreadable proxies; unreadable alone is 3; warnings alone are 0', () => {
    const f = (severity: 'error' | 'warning') => ({ severity, code: 'x', object: 'o', message: 'm', evidence: [], fix: null });
    expect(auditExitCode(countFindings([f('error'), f('warning')]), 2, 5)).toBe(1);
    expect(auditExitCode(countFindings([f('warning')]), 2, 5)).toBe(3);
    expect(auditExitCode(countFindings([f('warning')]), 0, 5)).toBe(0);
  });
  it('an audit that read no proxy at all proved nothing: 3 (an error finding still wins)', () => {
    const f = (severity: 'error' | 'warning') => ({ severity, code: 'x', object: 'o', message: 'm', evidence: [], fix: null });
    expect(auditExitCode(countFindings([]), 0, 0)).toBe(3);
    expect(auditExitCode(countFindings([f('error')]), 0, 0)).toBe(1);
  });
});
