import type { LabFault, MeshState } from './types.js';
import { BFF_WORKLOAD, GATEWAY_NAMESPACE, SVC_WORKLOAD, serviceFqdn } from '../topology/reference.js';

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

export function meshStateFromObjects(objects: IstioObject[], fault: LabFault | null, base?: Pick<MeshState, 'svcCert' | 'nlbTerminatesTls' | 'includeSslStats'>): MeshState {
  const bffDep = deployment(objects, BFF_WORKLOAD.namespace, BFF_WORKLOAD.name);
  const svcDep = deployment(objects, SVC_WORKLOAD.namespace, SVC_WORKLOAD.name);
  const roleLabel = (o: IstioObject) => o.metadata.labels?.['mesh-verify.io/role'] ?? o.spec?.template?.metadata?.labels?.['mesh-verify.io/role'];
  return {
    gatewayToBff: clientTls(objects, GATEWAY_NAMESPACE, serviceFqdn(BFF_WORKLOAD.name, BFF_WORKLOAD.namespace), BFF_WORKLOAD.namespace, BFF_WORKLOAD.port),
    inbound: {
      bff: inboundMode(objects, BFF_WORKLOAD.namespace, templateLabels(bffDep, BFF_WORKLOAD.name), BFF_WORKLOAD.port),
      svc: inboundMode(objects, SVC_WORKLOAD.namespace, templateLabels(svcDep, SVC_WORKLOAD.name), SVC_WORKLOAD.port),
    },
    svcSidecar: svcDep ? sidecarInjected(objects, svcDep, SVC_WORKLOAD.namespace) : true,
    plaintextCallerToSvc: objects.some((o) => o.kind === 'Deployment' && roleLabel(o) === 'plaintext-caller' && (o.spec?.replicas ?? 1) > 0),
    gatewayMaxTls: gatewayMaxTls(objects),
    gatewayCipherSuites: gatewayServersTls(objects).find((t) => t.cipherSuites?.length)?.cipherSuites ?? null,
    ...(base ?? nonObjectState(fault)),
  };
}

/**
 * A Gateway server's tls.maxProtocolVersion, as istiod turns it into the listener's
 * tls_maximum_protocol_version (istio pilot/pkg/networking/core/gateway.go buildGatewayListenerTLSContext).
 */
function gatewayMaxTls(objects: IstioObject[]): MeshState['gatewayMaxTls'] {
  for (const t of gatewayServersTls(objects)) {
    if (t.maxProtocolVersion === 'TLSV1_2') return 'TLSv1_2';
    if (t.maxProtocolVersion === 'TLSV1_3') return 'TLSv1_3';
  }
  return null;
}

function gatewayServersTls(objects: IstioObject[]): { maxProtocolVersion?: string; cipherSuites?: string[] }[] {
  return objects
    .filter((o) => o.kind === 'Gateway' && String(o.apiVersion ?? '').startsWith('networking.istio.io/'))
    .flatMap((o) => ((o.spec as { servers?: { tls?: { maxProtocolVersion?: string; cipherSuites?: string[] } }[] } | undefined)?.servers ?? []).flatMap((s) => (s.tls ? [s.tls] : [])));
}

export function sameMeshState(a: MeshState, b: MeshState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
