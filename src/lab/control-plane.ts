import { parse as parseYaml } from 'yaml';
import { HEALTHY_MESH, type EnvoyTlsVersion, type LabFault, type MeshState, type TlsConfigFields, type TlsParams } from './types.js';
import { BFF_WORKLOAD, GATEWAY_NAMESPACE, GATEWAY_WORKLOAD, SVC_WORKLOAD, serviceFqdn } from '../topology/reference.js';
import { envoyFilterTls } from './envoy-filter.js';

/**
 * The lab's "istiod": Istio objects in, MeshState out. Pure. What objects decide (gateway->bff
 * TLS, inbound modes, svc's sidecar, a plaintext caller) comes from the objects only; what they
 * cannot express (certificate faults, an NLB terminating TLS, stats inclusion) from the fault.
 */
export interface IstioObject {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Istio's root namespace (mesh-wide policies live there). */
export const ROOT_NAMESPACE = GATEWAY_NAMESPACE;
type Mode = 'STRICT' | 'PERMISSIVE';

function byAge(a: IstioObject, b: IstioObject): number {
  return (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name);
}

function selects(selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>): boolean {
  const m = selector?.matchLabels;
  return !!m && Object.keys(m).length > 0 && Object.entries(m).every(([k, v]) => labels[k] === v);
}

/** istiod's mTLS mode names, mapped to what the lab's sidecars do (DISABLE accepts plaintext). */
function modeOf(raw: unknown): Mode | null {
  if (raw === 'STRICT') return 'STRICT';
  if (raw === 'PERMISSIVE' || raw === 'DISABLE') return 'PERMISSIVE';
  return null; // UNSET / absent: inherit
}

/**
 * Effective inbound mode of a workload on a port, with Istio's precedence: workload selector
 * (port-level first) > namespace-wide > mesh-wide (root namespace); oldest wins a tie; the
 * default without any policy is PERMISSIVE.
 */
export function inboundMode(objects: IstioObject[], namespace: string, labels: Record<string, string>, port: number): Mode {
  const pas = objects.filter((o) => o.kind === 'PeerAuthentication').sort(byAge);
  const workload = pas.find((p) => p.metadata.namespace === namespace && selects(p.spec?.selector, labels));
  if (workload) {
    const portMode = modeOf(workload.spec?.portLevelMtls?.[String(port)]?.mode);
    if (portMode) return portMode;
    const m = modeOf(workload.spec?.mtls?.mode);
    if (m) return m;
  }
  const ns = pas.find((p) => p.metadata.namespace === namespace && !p.spec?.selector);
  const nsMode = modeOf(ns?.spec?.mtls?.mode);
  if (nsMode) return nsMode;
  const mesh = pas.find((p) => p.metadata.namespace === ROOT_NAMESPACE && !p.spec?.selector);
  return modeOf(mesh?.spec?.mtls?.mode) ?? 'PERMISSIVE';
}

function hostMatches(drHost: string, drNamespace: string, fqdn: string): boolean {
  const h = drHost.includes('.') ? drHost : `${drHost}.${drNamespace}.svc.cluster.local`;
  const full = /\.svc$/.test(h) ? `${h}.cluster.local` : h.split('.').length === 2 && !h.startsWith('*') ? `${h}.svc.cluster.local` : h;
  if (full === fqdn) return true;
  if (full === '*') return true;
  return full.startsWith('*.') && fqdn.endsWith(full.slice(1));
}

/**
 * How a client in `clientNamespace` sends to `fqdn`:`port`: the DestinationRule's TLS mode
 * (port-level first). Lookup order as istiod: client namespace, service namespace, root; an
 * exact host before a wildcard. No DestinationRule: auto mTLS (the target has a sidecar).
 */
export function clientTls(objects: IstioObject[], clientNamespace: string, fqdn: string, serviceNamespace: string, port: number): 'mtls' | 'plaintext' {
  const drs = objects.filter((o) => o.kind === 'DestinationRule' && typeof o.spec?.host === 'string' && hostMatches(o.spec.host, o.metadata.namespace ?? '', fqdn)).sort(byAge);
  const exact = (o: IstioObject) => !String(o.spec.host).includes('*');
  for (const ns of [clientNamespace, serviceNamespace, ROOT_NAMESPACE]) {
    const here = drs.filter((d) => d.metadata.namespace === ns);
    const dr = here.find(exact) ?? here[0];
    if (!dr) continue;
    const portSetting = (dr.spec?.trafficPolicy?.portLevelSettings ?? []).find((s: { port?: { number?: number } }) => s.port?.number === port);
    const mode = portSetting?.tls?.mode ?? dr.spec?.trafficPolicy?.tls?.mode;
    if (mode === 'DISABLE') return 'plaintext';
    if (mode) return 'mtls';
  }
  return 'mtls';
}

function deployment(objects: IstioObject[], namespace: string, name: string): IstioObject | undefined {
  return objects.find((o) => o.kind === 'Deployment' && o.metadata.namespace === namespace && o.metadata.name === name);
}

function templateLabels(d: IstioObject | undefined, app: string): Record<string, string> {
  return { app, ...(d?.spec?.template?.metadata?.labels ?? {}) };
}

/** Would Istio's injector give this workload a sidecar? */
export function sidecarInjected(objects: IstioObject[], d: IstioObject | undefined, namespace: string): boolean {
  const tpl = d?.spec?.template?.metadata ?? {};
  const opt = tpl.labels?.['sidecar.istio.io/inject'] ?? tpl.annotations?.['sidecar.istio.io/inject'];
  if (opt === 'false') return false;
  if (opt === 'true') return true;
  const ns = objects.find((o) => o.kind === 'Namespace' && o.metadata.name === namespace);
  if (!ns) return true;
  const l = ns.metadata.labels ?? {};
  return l['istio-injection'] === 'enabled' || (l['istio.io/rev'] !== undefined && l['istio-injection'] !== 'disabled');
}

/** The parts of MeshState no Kubernetes object expresses, per lab fault. */
export function nonObjectState(fault: LabFault | null): Pick<MeshState, 'svcCert' | 'nlbTerminatesTls' | 'includeSslStats'> {
  return {
    svcCert: fault === 'expired-cert' ? 'expired' : fault === 'foreign-root' ? 'foreign-root' : 'valid',
    nlbTerminatesTls: fault === 'nlb-terminates-tls',
    includeSslStats: fault !== 'stats-filtered',
  };
}

/**
 * `previous`: the state before this change. A mesh config istiod refuses leaves its TLS settings
 * as they were (istiod: "invalid mesh config, using last known state").
 */
export function meshStateFromObjects(objects: IstioObject[], fault: LabFault | null, base?: Pick<MeshState, 'svcCert' | 'nlbTerminatesTls' | 'includeSslStats'>, previous?: MeshState): MeshState {
  const bffDep = deployment(objects, BFF_WORKLOAD.namespace, BFF_WORKLOAD.name);
  const svcDep = deployment(objects, SVC_WORKLOAD.namespace, SVC_WORKLOAD.name);
  const roleLabel = (o: IstioObject) => o.metadata.labels?.['mesh-verify.io/role'] ?? o.spec?.template?.metadata?.labels?.['mesh-verify.io/role'];
  const mesh = meshConfigOf(objects);
  const tlsDefaults = mesh.ok ? mesh.tlsDefaults : previous?.tlsDefaults ?? {};
  const filters = envoyFilterTls(objects, [
    { role: 'gateway', namespace: GATEWAY_NAMESPACE, labels: { app: GATEWAY_WORKLOAD.name, istio: 'ingressgateway' } },
    { role: 'bff', namespace: BFF_WORKLOAD.namespace, labels: templateLabels(bffDep, BFF_WORKLOAD.name) },
    { role: 'svc', namespace: SVC_WORKLOAD.namespace, labels: templateLabels(svcDep, SVC_WORKLOAD.name) },
  ]);
  return {
    gatewayToBff: clientTls(objects, GATEWAY_NAMESPACE, serviceFqdn(BFF_WORKLOAD.name, BFF_WORKLOAD.namespace), BFF_WORKLOAD.namespace, BFF_WORKLOAD.port),
    inbound: {
      bff: inboundMode(objects, BFF_WORKLOAD.namespace, templateLabels(bffDep, BFF_WORKLOAD.name), BFF_WORKLOAD.port),
      svc: inboundMode(objects, SVC_WORKLOAD.namespace, templateLabels(svcDep, SVC_WORKLOAD.name), SVC_WORKLOAD.port),
    },
    svcSidecar: svcDep ? sidecarInjected(objects, svcDep, SVC_WORKLOAD.namespace) : true,
    plaintextCallerToSvc: objects.some((o) => o.kind === 'Deployment' && roleLabel(o) === 'plaintext-caller' && (o.spec?.replicas ?? 1) > 0),
    tlsDefaults,
    gatewayTls: gatewayTlsParams(tlsDefaults, gatewayServersTls(objects)[0] ?? {}),
    meshMtlsTls: mesh.ok ? meshMtlsParams(mesh.meshMtls) : previous?.meshMtlsTls ?? HEALTHY_MESH.meshMtlsTls,
    meshConfigRejected: mesh.ok ? null : mesh.error,
    envoyFilterTls: filters.patches,
    envoyFiltersIgnored: filters.ignored,
    ...(base ?? nonObjectState(fault)),
  };
}

/** The mesh config istiod reads: ConfigMap istio-system/istio, key `mesh` (YAML). */
export const MESH_CONFIGMAP = 'istio';

/** camelCase or snake_case (istiod reads the YAML through protojson, which accepts both). */
function tlsConfigFields(raw: unknown): TlsConfigFields {
  if (!raw || typeof raw !== 'object') return {};
  const r = raw as Record<string, unknown>;
  const pick = (camel: string, snake: string): unknown => r[camel] ?? r[snake];
  const list = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const out: TlsConfigFields = {};
  const min = str(pick('minProtocolVersion', 'min_protocol_version'));
  const max = str(pick('maxProtocolVersion', 'max_protocol_version'));
  const ciphers = list(pick('cipherSuites', 'cipher_suites'));
  const curves = list(pick('ecdhCurves', 'ecdh_curves'));
  if (min) out.minProtocolVersion = min;
  if (max) out.maxProtocolVersion = max;
  if (ciphers) out.cipherSuites = ciphers;
  if (curves) out.ecdhCurves = curves;
  return out;
}

/**
 * The TLS parts of the mesh config, validated as istiod 1.30 does (pkg/config/validation/agent
 * ValidateMeshTLSConfig): `meshMTLS.ecdhCurves` is an error ("mesh TLS does not support ECDH
 * curves configuration"), and istiod then discards the whole new mesh config and keeps the last
 * known one (pkg/config/mesh/meshwatcher/collection.go: "invalid mesh config, using last known
 * state"). No ConfigMap: istiod's defaults (no tlsDefaults, no meshMTLS).
 */
export function meshConfigOf(objects: IstioObject[]): { ok: true; tlsDefaults: TlsConfigFields; meshMtls: TlsConfigFields } | { ok: false; error: string } {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.namespace === ROOT_NAMESPACE && o.metadata.name === MESH_CONFIGMAP) as { data?: Record<string, string> } | undefined;
  const text = cm?.data?.mesh;
  if (!text) return { ok: true, tlsDefaults: {}, meshMtls: {} };
  let mesh: Record<string, unknown>;
  try {
    mesh = (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    return { ok: false, error: `invalid mesh config, using last known state: ${(err as Error).message}` };
  }
  const meshMtls = tlsConfigFields(mesh.meshMTLS ?? mesh.mesh_mtls);
  if (meshMtls.ecdhCurves !== undefined) return { ok: false, error: 'invalid mesh config, using last known state: mesh TLS does not support ECDH curves configuration' };
  return { ok: true, tlsDefaults: tlsConfigFields(mesh.tlsDefaults ?? mesh.tls_defaults), meshMtls };
}

/** istio networking ServerTLSSettings.TLSProtocol -> Envoy (pilot/pkg/networking/core/listener.go convertTLSProtocol); TLS_AUTO/absent: null. */
function serverTlsProtocol(v: string | undefined): EnvoyTlsVersion | null {
  const m = /^TLSV1_([0-3])$/.exec(v ?? '');
  return m ? (`TLSv1_${m[1]}` as EnvoyTlsVersion) : null;
}

/** meshConfig TLSConfig.TLSProtocol -> Envoy (pilot/pkg/security/authn/utils/utils.go GetMinTLSVersion): TLSV1_3, else TLSv1_2. */
function meshMinTls(v: string | undefined): EnvoyTlsVersion {
  return v === 'TLSV1_3' ? 'TLSv1_3' : 'TLSv1_2';
}

/**
 * The gateway's SIMPLE/MUTUAL server context, layered as istiod 1.30 builds it
 * (pilot/pkg/networking/core/listener.go buildGatewayListenerTLSContext):
 * 1. applyDownstreamTLSDefaults(meshConfig.tlsDefaults): ecdhCurves -> tls_params.ecdh_curves,
 *    cipherSuites -> cipher_suites, minProtocolVersion (unless TLS_AUTO) -> tls_minimum_protocol_version
 *    through GetMinTLSVersion;
 * 2. applyServerTLSSettings(Gateway servers[].tls): minProtocolVersion, cipherSuites and
 *    maxProtocolVersion override them (ServerTLSSettings has no ecdhCurves in 1.30);
 * 3. EnforceCompliance (COMPLIANCE_POLICY, which the lab's istiod does not set: no change).
 * Otherwise the lab's gateway keeps tls_minimum TLSv1_2 / tls_maximum TLSv1_3 (HEALTHY_MESH).
 */
export function gatewayTlsParams(tlsDefaults: TlsConfigFields, server: TlsConfigFields): TlsParams {
  const p: TlsParams = { ...HEALTHY_MESH.gatewayTls };
  if (tlsDefaults.ecdhCurves?.length) p.ecdhCurves = tlsDefaults.ecdhCurves;
  if (tlsDefaults.cipherSuites?.length) p.cipherSuites = tlsDefaults.cipherSuites;
  if (tlsDefaults.minProtocolVersion && tlsDefaults.minProtocolVersion !== 'TLS_AUTO') p.minVersion = meshMinTls(tlsDefaults.minProtocolVersion);
  p.minVersion = serverTlsProtocol(server.minProtocolVersion) ?? p.minVersion;
  if (server.cipherSuites?.length) p.cipherSuites = server.cipherSuites;
  p.maxVersion = serverTlsProtocol(server.maxProtocolVersion) ?? p.maxVersion;
  return p;
}

/**
 * A sidecar's inbound mesh mTLS context (pilot/pkg/security/authn/utils/utils.go BuildInboundTLS,
 * from policy_applier.go InboundMTLSSettings): cipher_suites = meshMTLS.cipherSuites, else Istio's
 * SupportedCiphers; tls_minimum_protocol_version = GetMinTLSVersion(meshMTLS.minProtocolVersion);
 * tls_maximum TLSv1_3; no ecdh_curves (meshMTLS cannot have any, see meshConfigOf).
 *
 * The outbound ISTIO_MUTUAL side (pilot/pkg/networking/core/cluster_tls.go
 * buildUpstreamClusterTLSContext) takes nothing from the mesh config: applyTLSDefaults
 * (tlsDefaults.ecdhCurves / cipherSuites) runs only for SIMPLE and MUTUAL DestinationRules
 * (constructUpstreamTLS), never for ISTIO_MUTUAL. So in Istio 1.30 no mesh config setting picks the
 * key-exchange group of sidecar-to-sidecar mTLS: Envoy's default curves apply (COMPLIANCE_POLICY=fips-140-2
 * clears ecdh_curves as well, relying on a FIPS build of Envoy, whose default is P-256).
 */
export function meshMtlsParams(meshMtls: TlsConfigFields): TlsParams {
  return {
    minVersion: meshMinTls(meshMtls.minProtocolVersion),
    maxVersion: 'TLSv1_3',
    cipherSuites: meshMtls.cipherSuites ?? HEALTHY_MESH.meshMtlsTls.cipherSuites,
    ecdhCurves: null,
  };
}

/** The ingress Gateway's servers' tls settings (the lab's gateway has one HTTPS server). */
function gatewayServersTls(objects: IstioObject[]): TlsConfigFields[] {
  return objects
    .filter((o) => o.kind === 'Gateway' && String(o.apiVersion ?? '').startsWith('networking.istio.io/'))
    .flatMap((o) => ((o.spec as { servers?: { tls?: unknown }[] } | undefined)?.servers ?? []).flatMap((s) => (s.tls ? [tlsConfigFields(s.tls)] : [])));
}

export function sameMeshState(a: MeshState, b: MeshState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
