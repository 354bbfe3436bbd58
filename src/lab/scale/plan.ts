import type { InboundMode } from '../../envoy/types.js';
import { pinnedVersions } from '../../topology/versions.js';
import type { PlantedProblem } from './planted.js';
import { randomInt, seededRandom } from '../../util/rng.js';

/**
 * The fleet as data, before any socket or certificate exists: namespaces, policies, proxies with
 * their variant, pods without sidecars, and the ground truth of what the audit must report.
 */

export const FLEET_ROOT_NAMESPACE = 'istio-system';
/**
 * The fleet's default revision runs the pinned Istio (fixtures/istio/versions.json), as the
 * reference lab does: `lab up --proxies N` puts both under the fleet's istiod. The canary
 * revision is the next minor's release candidate, and the planted skews are the two minors
 * before the pin; all real tags of istio/istio.
 */
export const FLEET_ISTIO_VERSION = pinnedVersions().istio;
export const FLEET_CANARY_REVISION = '1-31-0-rc-0';
export const FLEET_CANARY_VERSION = '1.31.0-rc.0';
/** One minor behind the pin (proxy-version-skew) and two behind (proxy-version-unsupported). */
export const FLEET_OLD_VERSION = '1.29.6';
export const FLEET_TOO_OLD_VERSION = '1.28.10';
/**
 * The Envoy each Istio minor builds (istio/proxy ENVOY_VERSION.txt: 1.29.6 1.37.6-dev, 1.30.3
 * 1.38.4-dev, 1.31.0-rc.0 1.39.1-dev; Envoy's minor is Istio's plus 8, so 1.28 builds 1.36).
 */
export const ENVOY_FOR_ISTIO: Record<string, string> = { '1.28': '1.36.0', '1.29': '1.37.6', '1.30': '1.38.4', '1.31': '1.39.1' };
/** Namespace of the Gateway API gateway (Istio deploys `<gateway>-istio` next to its Gateway). */
export const FLEET_GATEWAY_API_NAMESPACE = 'edge';
export const FLEET_GATEWAY_API_NAME = 'web-gateway';
/** The ambient namespace (label istio.io/dataplane-mode=ambient, no sidecars). */
export const FLEET_AMBIENT_NAMESPACE = 'mall';

export const PROXY_VARIANTS = [
  'drift-permissive', 'drift-strict', 'stale-root', 'expired-cert', 'not-rotated',
  'old-version', 'too-old', 'listener-error', 'unreachable', 'restarting',
] as const;
export type ProxyVariant = 'healthy' | (typeof PROXY_VARIANTS)[number];

export type CertVariant = 'current' | 'stale-root' | 'expired' | 'not-rotated';

export interface ProxySpec {
  index: number;
  namespace: string;
  name: string;
  app: string;
  serviceAccount: string;
  ip: string;
  gateway: boolean;
  /** A gateway Istio deployed for a Gateway API Gateway (credentials kubernetes-gateway://NS/NAME). */
  gatewayApi: boolean;
  /** istio-proxy as a native sidecar (init container, restartPolicy Always), as Istio >= 1.27 injects on Kubernetes >= 1.33. */
  nativeSidecar: boolean;
  variant: ProxyVariant;
  istioVersion: string;
  revision: string;
  /** Application ports (inbound chains); [] for gateways. */
  ports: number[];
  /** Inbound mode in effect per port; 0 = the catch-all chains. */
  inbound: Record<number, InboundMode>;
  /** How many mesh services this proxy's config holds (drives the dump size). */
  visibleServices: number;
  cert: CertVariant;
}

export interface BarePodSpec {
  namespace: string; name: string; app: string; ip: string;
  /** Extra pod labels (sidecar.istio.io/inject, istio.io/dataplane-mode). */
  labels?: Record<string, string>;
  /** In the ambient mesh (ztunnel): not a pod without sidecar, not a plaintext endpoint. */
  ambient?: boolean;
}

export interface NamespaceSpec {
  name: string;
  injected: boolean;
  revision: string | null;
  /** Namespace-wide PeerAuthentication mode, or null (inherits the mesh's STRICT). */
  mode: 'STRICT' | 'PERMISSIVE' | null;
  /** Label istio.io/dataplane-mode ('ambient'), or absent. */
  dataplaneMode?: 'ambient';
}

export interface WorkloadPolicySpec {
  namespace: string;
  name: string;
  app: string;
  mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE' | null;
  portLevel: Record<number, 'STRICT' | 'PERMISSIVE' | 'DISABLE'>;
}

export interface DestinationRuleSpec { namespace: string; name: string; host: string; mode: string; inMesh: boolean }

export interface GatewayCredentialSpec {
  name: string;
  /** The SDS name a gateway asks for: kubernetes://NAME (Istio Gateway) or kubernetes-gateway://NS/NAME (Gateway API). */
  sdsName: string;
  /** Served by the Gateway API gateway (else by the istio-ingressgateway pods). */
  gatewayApi: boolean;
  host: string;
  /** DNS names of its certificate; null = the Secret is missing (SDS secret stays warming). */
  dnsSans: string[] | null;
  expiresInDays: number;
}

export interface FleetPlan {
  seed: number;
  namespaces: NamespaceSpec[];
  proxies: ProxySpec[];
  barePods: BarePodSpec[];
  workloadPolicies: WorkloadPolicySpec[];
  destinationRules: DestinationRuleSpec[];
  gatewayCredentials: GatewayCredentialSpec[];
  /** Apps per namespace (each has a Service named like the app). */
  services: { namespace: string; app: string; ports: number[] }[];
  /** Days until the mesh intermediate CA expires (below 30: planted). */
  intermediateExpiresInDays: number;
}

const PODS_PER_NAMESPACE = 24;
const REPLICAS = 2;

function hash5(seed: string): string {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 5; i++) { out += alphabet[(h >>> 0) % alphabet.length]; h = Math.imul(h, 31) + 7; }
  return out;
}

function ipOf(i: number, block: number): string {
  return `10.${block}.${(i >> 8) & 255}.${i & 255}`;
}

export function planFleet(count: number, seed = 1): FleetPlan {
  if (!Number.isInteger(count) || count < 1) throw new Error(`fleet size must be a positive integer, got ${count}`);
  const rnd = seededRandom(seed);
  const gatewayCount = Math.max(1, Math.floor(count / 250));
  // From 10 proxies on, one of them is a Gateway API gateway.
  const gatewayApiCount = count >= 10 ? 1 : 0;
  const sidecarCount = Math.max(0, count - gatewayCount - gatewayApiCount);
  const nsCount = Math.max(1, Math.ceil(sidecarCount / PODS_PER_NAMESPACE));
  const namespaces: NamespaceSpec[] = [{ name: FLEET_ROOT_NAMESPACE, injected: false, revision: null, mode: null }];
  for (let k = 0; k < nsCount; k++) {
    const canary = nsCount >= 3 && k === nsCount - 1;
    namespaces.push({
      name: `team-${String(k).padStart(2, '0')}`,
      injected: true,
      revision: canary ? FLEET_CANARY_REVISION : null,
      mode: k % 4 === 1 ? 'PERMISSIVE' : k % 4 === 2 ? 'STRICT' : null,
    });
  }
  namespaces.push({ name: 'legacy', injected: false, revision: null, mode: null });
  if (gatewayApiCount > 0) namespaces.push({ name: FLEET_GATEWAY_API_NAMESPACE, injected: false, revision: null, mode: null });
  namespaces.push({ name: FLEET_AMBIENT_NAMESPACE, injected: false, revision: null, mode: null, dataplaneMode: 'ambient' });

  const proxies: ProxySpec[] = [];
  const services: FleetPlan['services'] = [];
  const workloadPolicies: WorkloadPolicySpec[] = [];
  const teamNs = namespaces.filter((n) => n.name.startsWith('team-'));
  // Special workloads: port-level PERMISSIVE on 9090 in the first namespace, DISABLE in the second (or first).
  const portLevelApp = { namespace: teamNs[0].name, app: 'app-01' };
  const disabledApp = { namespace: teamNs[Math.min(2, teamNs.length - 1)].name, app: 'app-03' };
  workloadPolicies.push({ namespace: portLevelApp.namespace, name: 'app-01-metrics', app: portLevelApp.app, mode: null, portLevel: { 9090: 'PERMISSIVE' } });
  workloadPolicies.push({ namespace: disabledApp.namespace, name: 'app-03-legacy-clients', app: disabledApp.app, mode: 'DISABLE', portLevel: {} });

  for (let i = 0; i < sidecarCount; i++) {
    const ns = teamNs[Math.floor(i / PODS_PER_NAMESPACE)];
    const local = i % PODS_PER_NAMESPACE;
    const app = `app-${String(Math.floor(local / REPLICAS)).padStart(2, '0')}`;
    const appIndex = Math.floor(local / REPLICAS);
    const ports = appIndex % 2 === 1 ? [8080, 9090] : [8080];
    if (local % REPLICAS === 0) services.push({ namespace: ns.name, app, ports });
    const canary = ns.revision === FLEET_CANARY_REVISION;
    const policy = (port: number): InboundMode => {
      const wp = workloadPolicies.find((w) => w.namespace === ns.name && w.app === app);
      const base = ns.mode ?? 'STRICT';
      let m: string = base;
      if (wp?.mode) m = wp.mode;
      if (wp && port !== 0 && wp.portLevel[port]) m = wp.portLevel[port];
      return m === 'DISABLE' ? 'PLAINTEXT' : (m as InboundMode);
    };
    const inbound: Record<number, InboundMode> = {};
    for (const p of [0, ...ports]) inbound[p] = policy(p);
    proxies.push({
      index: i, namespace: ns.name, name: `${app}-${hash5(`${seed}/${ns.name}/${app}`)}-${hash5(`${seed}/${i}`)}`,
      // Every other pod was (re)started on a node with native sidecars (a cluster mid-way to Kubernetes 1.33).
      app, serviceAccount: app, ip: ipOf(i, 244), gateway: false, gatewayApi: false, nativeSidecar: i % 2 === 0, variant: 'healthy',
      istioVersion: canary ? FLEET_CANARY_VERSION : FLEET_ISTIO_VERSION,
      revision: canary ? FLEET_CANARY_REVISION : 'default', ports, inbound,
      visibleServices: randomInt(rnd, 13, 112), cert: 'current',
    });
  }
  for (let g = 0; g < gatewayCount; g++) {
    proxies.push({
      index: sidecarCount + g, namespace: FLEET_ROOT_NAMESPACE,
      name: `istio-ingressgateway-${hash5(`${seed}/gw`)}-${hash5(`${seed}/gw/${g}`)}`,
      app: 'istio-ingressgateway', serviceAccount: 'istio-ingressgateway-service-account', ip: ipOf(g, 245), gateway: true,
      gatewayApi: false, nativeSidecar: false, variant: 'healthy', istioVersion: FLEET_ISTIO_VERSION, revision: 'default', ports: [], inbound: {},
      visibleServices: randomInt(rnd, 20, 100), cert: 'current',
    });
  }
  for (let g = 0; g < gatewayApiCount; g++) {
    // Istio's gateway controller names the Deployment and its service account `<Gateway>-istio`.
    const app = `${FLEET_GATEWAY_API_NAME}-istio`;
    proxies.push({
      index: sidecarCount + gatewayCount + g, namespace: FLEET_GATEWAY_API_NAMESPACE,
      name: `${app}-${hash5(`${seed}/gwapi`)}-${hash5(`${seed}/gwapi/${g}`)}`,
      app, serviceAccount: app, ip: ipOf(g, 248), gateway: true, gatewayApi: true, nativeSidecar: false,
      variant: 'healthy', istioVersion: FLEET_ISTIO_VERSION, revision: 'default', ports: [], inbound: {},
      visibleServices: randomInt(rnd, 20, 100), cert: 'current',
    });
  }
  assignVariants(proxies, namespaces, workloadPolicies, rnd);

  const barePods: BarePodSpec[] = [];
  const bareCount = Math.max(1, Math.floor(count / 100));
  for (let b = 0; b < bareCount; b++) {
    const ns = teamNs[b % teamNs.length];
    barePods.push({ namespace: ns.name, app: 'batch-export', name: `batch-export-${hash5(`${seed}/bare/${b}`)}`, ip: ipOf(b, 246) });
  }
  for (const ns of new Set(barePods.map((p) => p.namespace))) services.push({ namespace: ns, app: 'batch-export', ports: [8080] });
  barePods.push({ namespace: 'legacy', app: 'ledger', name: `ledger-${hash5(`${seed}/legacy`)}`, ip: ipOf(1, 247) });
  services.push({ namespace: 'legacy', app: 'ledger', ports: [8080] });
  // Ambient: a workload moved to ambient inside a sidecar namespace (opted out of injection,
  // labelled ambient), an ambient namespace's pods, and one pod there that opts out (`none`):
  // only that one is outside the mesh.
  barePods.push({ namespace: teamNs[0].name, app: 'search', name: `search-${hash5(`${seed}/ambient/search`)}`, ip: ipOf(2, 247),
    labels: { 'sidecar.istio.io/inject': 'false', 'istio.io/dataplane-mode': 'ambient' }, ambient: true });
  services.push({ namespace: teamNs[0].name, app: 'search', ports: [8080] });
  for (let k = 0; k < 2; k++) {
    barePods.push({ namespace: FLEET_AMBIENT_NAMESPACE, app: 'storefront', name: `storefront-${hash5(`${seed}/mall`)}-${hash5(`${seed}/mall/${k}`)}`, ip: ipOf(3 + k, 247), ambient: true });
  }
  services.push({ namespace: FLEET_AMBIENT_NAMESPACE, app: 'storefront', ports: [8080] });
  barePods.push({ namespace: FLEET_AMBIENT_NAMESPACE, app: 'nightly-report', name: `nightly-report-${hash5(`${seed}/mall/none`)}`, ip: ipOf(5, 247),
    labels: { 'istio.io/dataplane-mode': 'none' } });
  services.push({ namespace: FLEET_AMBIENT_NAMESPACE, app: 'nightly-report', ports: [8080] });

  const drTarget = (k: number) => services.find((s) => s.app !== 'batch-export' && s.namespace === teamNs[k % teamNs.length].name && s.app === 'app-02')
    ?? services.find((s) => s.app !== 'batch-export' && s.namespace.startsWith('team-'))!;
  const t1 = drTarget(0);
  const t2 = drTarget(1);
  const destinationRules: DestinationRuleSpec[] = [
    { namespace: t1.namespace, name: `${t1.app}-no-tls`, host: t1.app, mode: 'DISABLE', inMesh: true },
    { namespace: t2.namespace, name: `${t2.app}-simple-tls`, host: `${t2.app}.${t2.namespace}.svc.cluster.local`, mode: 'SIMPLE', inMesh: true },
    { namespace: t1.namespace, name: 'payments-api-external', host: 'api.payments.example.com', mode: 'SIMPLE', inMesh: false },
    { namespace: t2.namespace, name: `${t2.app}-mutual`, host: `${t2.app}.${t2.namespace}.svc.cluster.local`, mode: 'ISTIO_MUTUAL', inMesh: true },
    { namespace: 'legacy', name: 'ledger-plain', host: 'ledger.legacy.svc.cluster.local', mode: 'DISABLE', inMesh: false },
  ];
  const istio = (name: string, host: string, dnsSans: string[] | null, expiresInDays: number): GatewayCredentialSpec =>
    ({ name, sdsName: `kubernetes://${name}`, gatewayApi: false, host, dnsSans, expiresInDays });
  const gatewayApi = (name: string, host: string, dnsSans: string[] | null, expiresInDays: number): GatewayCredentialSpec =>
    ({ name, sdsName: `kubernetes-gateway://${FLEET_GATEWAY_API_NAMESPACE}/${name}`, gatewayApi: true, host, dnsSans, expiresInDays });
  const gatewayCredentials: GatewayCredentialSpec[] = [
    istio('web-credential', 'web.example.com', ['web.example.com'], 200),
    istio('api-credential', 'api.example.com', ['api.example.com'], 9),
    istio('shop-credential', 'shop.example.com', ['www.shop.example.com'], 120),
    istio('admin-credential', 'admin.example.com', null, 0),
    ...(gatewayApiCount > 0 ? [
      gatewayApi('store-cert', 'store.example.com', ['store.example.com'], 250),
      gatewayApi('checkout-cert', 'checkout.example.com', ['checkout.example.com'], 12),
      gatewayApi('docs-cert', 'docs.example.com', ['*.docs.example.org'], 300),
      gatewayApi('billing-cert', 'billing.example.com', null, 0),
    ] : []),
  ];
  return { seed, namespaces, proxies, barePods, workloadPolicies, destinationRules, gatewayCredentials, services, intermediateExpiresInDays: 21 };
}

/**
 * Spread the problem variants over the sidecars: each variant at least once (fleets of 20 and
 * more), then about 8% of the remaining proxies get a random one. Variants go only where they
 * make sense (drift-permissive in STRICT namespaces, version skew on the default revision).
 */
function assignVariants(proxies: ProxySpec[], namespaces: NamespaceSpec[], policies: WorkloadPolicySpec[], rnd: () => number): void {
  const nsOf = new Map(namespaces.map((n) => [n.name, n]));
  const special = (p: ProxySpec) => policies.some((w) => w.namespace === p.namespace && w.app === p.app);
  const eligible = (p: ProxySpec, v: ProxyVariant): boolean => {
    if (p.gateway || p.variant !== 'healthy' || special(p)) return false;
    const ns = nsOf.get(p.namespace)!;
    if (v === 'drift-permissive') return ns.mode !== 'PERMISSIVE';
    if (v === 'drift-strict') return ns.mode === 'PERMISSIVE';
    if (v === 'old-version' || v === 'too-old') return p.revision === 'default';
    return true;
  };
  const order = proxies.map((_, i) => i).sort(() => rnd() - 0.5);
  for (const v of PROXY_VARIANTS) {
    const idx = order.find((i) => eligible(proxies[i], v));
    if (idx !== undefined) apply(proxies[idx], v);
  }
  for (const i of order) {
    if (rnd() >= 0.08) continue;
    const v = PROXY_VARIANTS[Math.floor(rnd() * PROXY_VARIANTS.length)];
    if (eligible(proxies[i], v)) apply(proxies[i], v);
  }
}

function apply(p: ProxySpec, v: ProxyVariant): void {
  p.variant = v;
  if (v === 'drift-permissive') for (const k of Object.keys(p.inbound)) p.inbound[Number(k)] = 'PERMISSIVE';
  if (v === 'drift-strict') for (const k of Object.keys(p.inbound)) p.inbound[Number(k)] = 'STRICT';
  if (v === 'stale-root') p.cert = 'stale-root';
  if (v === 'expired-cert') p.cert = 'expired';
  if (v === 'not-rotated') p.cert = 'not-rotated';
  if (v === 'old-version') p.istioVersion = FLEET_OLD_VERSION;
  if (v === 'too-old') p.istioVersion = FLEET_TOO_OLD_VERSION;
}

/** The credentials a gateway proxy serves: the Gateway API gateway its own, the ingress gateways theirs. */
export function gatewayCredentialsOf(plan: Pick<FleetPlan, 'gatewayCredentials'>, p: Pick<ProxySpec, 'gateway' | 'gatewayApi'>): GatewayCredentialSpec[] {
  return p.gateway ? plan.gatewayCredentials.filter((c) => c.gatewayApi === p.gatewayApi) : [];
}

/** The listener a 'listener-error' proxy has rejected. */
export const REJECTED_LISTENER = '0.0.0.0_9411';

/**
 * The ground truth: every error and warning the audit must report for this plan (with the
 * default --min-cert-days 30 and no --target-version). `intermediateObject` names the mesh
 * intermediate the way the audit does (subject and serial come from the real certificate).
 */
export function plantedProblems(plan: FleetPlan, intermediateObject: string): PlantedProblem[] {
  const out: PlantedProblem[] = [];
  const add = (code: string, object: string, why: string) => out.push({ code, object, why });
  for (const p of plan.proxies) {
    const pod = `pod ${p.namespace}/${p.name}`;
    if (p.variant === 'unreachable' || p.variant === 'restarting') {
      add('proxy-unreadable', pod, `${p.variant} proxy`);
      continue;
    }
    if (p.gateway) {
      for (const c of gatewayCredentialsOf(plan, p)) {
        const secret = `secret ${c.sdsName} on ${pod}`;
        if (c.dnsSans === null) add('sds-secret-warming', secret, 'credential Secret missing');
        else {
          if (c.expiresInDays < 30) add('gateway-cert-expiring', secret, `credential expires in ${c.expiresInDays} days`);
          if (!c.dnsSans.includes(c.host)) add('gateway-cert-host-mismatch', secret, `certificate does not name ${c.host}`);
        }
      }
      continue;
    }
    for (const [portText, mode] of Object.entries(p.inbound)) {
      const object = `${pod} port ${portText === '0' ? '*' : portText}`;
      if (p.variant === 'drift-permissive') add('drift-accepts-plaintext', object, 'STRICT policy, stale PERMISSIVE config');
      else if (p.variant === 'drift-strict') add('drift-stricter-than-policy', object, 'PERMISSIVE policy, STRICT config');
      else if (mode === 'PERMISSIVE') add('inbound-permissive', object, 'PERMISSIVE policy');
      else if (mode === 'PLAINTEXT') add('inbound-plaintext', object, 'DISABLE policy');
    }
    if (p.cert === 'stale-root') {
      add('workload-cert-untrusted-root', pod, 'certificate from the rotated-out root');
      add('trust-bundle-stale', pod, 'ROOTCA holds only the old root');
    }
    if (p.cert === 'expired') add('workload-cert-expired', pod, 'expired workload certificate');
    if (p.cert === 'not-rotated') add('workload-cert-not-rotated', pod, 'certificate near its end, not rotated');
    if (p.variant === 'old-version') add('proxy-version-skew', pod, 'proxy one minor behind');
    if (p.variant === 'too-old') add('proxy-version-unsupported', pod, 'proxy two minors behind');
    if (p.variant === 'listener-error') add('listener-error', `listener ${REJECTED_LISTENER} on ${pod}`, 'rejected listener');
  }
  const injected = new Set(plan.namespaces.filter((n) => n.injected).map((n) => n.name));
  for (const b of plan.barePods.filter((x) => injected.has(x.namespace) && !x.ambient)) add('pod-without-sidecar', `pod ${b.namespace}/${b.name}`, 'no sidecar in an injected namespace');
  for (const ns of new Set(plan.barePods.filter((x) => injected.has(x.namespace) && !x.ambient && x.app === 'batch-export').map((x) => x.namespace))) {
    add('plaintext-endpoint', `Service ${ns}/batch-export`, 'service backed by pods without sidecar');
  }
  for (const dr of plan.destinationRules.filter((d) => d.inMesh)) {
    if (dr.mode === 'DISABLE') add('destinationrule-tls-disabled', `DestinationRule ${dr.namespace}/${dr.name}`, 'tls DISABLE to an in-mesh host');
    if (dr.mode === 'SIMPLE') add('destinationrule-tls-simple', `DestinationRule ${dr.namespace}/${dr.name}`, 'tls SIMPLE to an in-mesh host');
  }
  const readable = plan.proxies.some((p) => p.variant !== 'unreachable' && p.variant !== 'restarting' && p.cert !== 'stale-root');
  if (plan.intermediateExpiresInDays < 30 && readable) add('intermediate-cert-expiring', intermediateObject, 'mesh intermediate near its end');
  return out;
}
