import type { V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { EnvironmentError } from '../core/errors.js';
import { DEFAULT_GATEWAY, GATEWAY_HTTPS_PORT, labelSelector, spiffeId, type IngressGateway } from '../topology/reference.js';
import type { KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';
import { isPodReady } from './pod-status.js';

/** `--gateway NS/NAME`: the ingress gateway's Service. */
export interface GatewayRef {
  namespace: string;
  name: string;
}

/** The https port of a gateway Service: the one the Gateway's server listens on (443). */
export function httpsServicePort(svc: V1Service): V1ServicePort | undefined {
  return svc.spec?.ports?.find((p) => p.port === GATEWAY_HTTPS_PORT);
}

/**
 * The gateway as its Service and pods describe it: the pods the Service selects (their labels
 * are what a Gateway object must select), their service account (the SPIFFE identity), and the
 * Service's targetPort for 443, where Istio binds the listener `0.0.0.0_<targetPort>` (a named
 * targetPort is looked up in the pod's container ports, as kube-proxy does).
 */
export function gatewayFromService(svc: V1Service, pods: readonly V1Pod[], trustDomain?: string): IngressGateway {
  const namespace = svc.metadata?.namespace ?? '';
  const service = svc.metadata?.name ?? '';
  const name = `${namespace}/${service}`;
  const podLabels = { ...(svc.spec?.selector ?? {}) };
  if (Object.keys(podLabels).length === 0) {
    throw new EnvironmentError(`gateway Service ${name} has no selector: cannot tell which pods are the gateway`, 'name the gateway\'s Service with --gateway NS/NAME');
  }
  const https = httpsServicePort(svc);
  if (!https) {
    const ports = (svc.spec?.ports ?? []).map((p) => `${p.name ?? '-'} ${p.port}`).join(', ') || 'none';
    throw new EnvironmentError(`gateway Service ${name} has no port ${GATEWAY_HTTPS_PORT} (ports: ${ports}), where the Gateway's https server listens`,
      'install the gateway with an https port 443 (the istioctl profile and the Helm gateway chart both have one), or name another with --gateway NS/NAME');
  }
  const pod = pickPod(pods);
  let targetPort: number;
  const tp = https.targetPort as number | string | undefined;
  if (tp === undefined || tp === null || tp === '') targetPort = https.port;
  else if (typeof tp === 'number' || /^\d+$/.test(tp)) targetPort = Number(tp);
  else {
    const found = pod?.spec?.containers?.flatMap((c) => c.ports ?? []).find((p) => p.name === tp)?.containerPort;
    if (found === undefined) {
      throw new EnvironmentError(`gateway Service ${name} maps port ${https.port} to the named port "${tp}", and no running gateway pod declares it`,
        'wait for the gateway pods (kubectl get pods -l ' + labelSelector(podLabels) + ` -n ${namespace}), or check the Service's targetPort`);
    }
    targetPort = found;
  }
  // Without a pod yet: istioctl's account name, else the Helm chart's (the release name).
  const serviceAccount = pod?.spec?.serviceAccountName
    ?? (namespace === DEFAULT_GATEWAY.namespace && service === DEFAULT_GATEWAY.service ? DEFAULT_GATEWAY.serviceAccount : service);
  return { namespace, service, podLabels, serviceAccount, spiffeId: spiffeId(namespace, serviceAccount, trustDomain), httpsPort: https.port, targetPort };
}

function pickPod(pods: readonly V1Pod[]): V1Pod | undefined {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running');
  return live.find(isPodReady) ?? live[0] ?? pods[0];
}

/** Services that look like an Istio ingress gateway: an `istio` label other than istiod's, and port 443. */
function looksLikeGateway(svc: V1Service): boolean {
  const istio = svc.metadata?.labels?.istio;
  return istio !== undefined && istio !== 'pilot' && !!svc.spec?.selector && httpsServicePort(svc) !== undefined;
}

export interface FindGatewayOptions {
  /** --gateway NS/NAME; without it istioctl's istio-system/istio-ingressgateway, else the one gateway-like Service. */
  ref?: GatewayRef | null;
  trustDomain?: string;
  onInfo?: (line: string) => void;
}

/** Find the ingress gateway from its Service (see gatewayFromService). */
export async function findGateway(clients: KubeClients, opts: FindGatewayOptions = {}): Promise<IngressGateway> {
  const ref = opts.ref ?? { namespace: DEFAULT_GATEWAY.namespace, name: DEFAULT_GATEWAY.service };
  let svc = await readService(clients, ref);
  if (!svc && !opts.ref) {
    svc = await onlyGatewayService(clients, ref);
    if (svc) opts.onInfo?.(`no ${ref.namespace}/${ref.name} Service: using the ingress gateway Service ${svc.metadata?.namespace}/${svc.metadata?.name} (choose another with --gateway NS/NAME)`);
  }
  if (!svc) {
    throw new EnvironmentError(`ingress gateway Service ${ref.namespace}/${ref.name} not found`,
      opts.ref ? 'check --gateway NS/NAME (kubectl get svc -A -l istio)' : 'install Istio (mesh-verify up), or name the gateway\'s Service with --gateway NS/NAME (e.g. istio-ingress/istio-ingress for the Helm chart)');
  }
  const namespace = svc.metadata?.namespace ?? ref.namespace;
  let pods: V1Pod[] = [];
  try {
    pods = (await clients.core.listNamespacedPod({ namespace, labelSelector: labelSelector(svc.spec?.selector ?? {}) })).items;
  } catch (err) {
    if (err instanceof EnvironmentError) throw err;
    throw new EnvironmentError(`listing the gateway pods of ${namespace}/${svc.metadata?.name} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
  }
  return gatewayFromService(svc, pods, opts.trustDomain);
}

async function readService(clients: KubeClients, ref: GatewayRef): Promise<V1Service | null> {
  try {
    return await clients.core.readNamespacedService({ name: ref.name, namespace: ref.namespace });
  } catch (err) {
    if (apiErrorCode(err) === 404) return null;
    if (err instanceof EnvironmentError) throw err;
    throw new EnvironmentError(`reading Service ${ref.namespace}/${ref.name} failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
  }
}

/** The single gateway-like Service of the cluster (Helm installs), or null (none, several, or not allowed to list). */
async function onlyGatewayService(clients: KubeClients, wanted: GatewayRef): Promise<V1Service | null> {
  let items: V1Service[];
  try {
    items = (await clients.core.listServiceForAllNamespaces({ labelSelector: 'istio' })).items;
  } catch (err) {
    // Not allowed to list: no guess. A deadline or size limit is not "none found".
    if (err instanceof EnvironmentError) throw err;
    return null;
  }
  const candidates = items.filter(looksLikeGateway);
  if (candidates.length > 1) {
    throw new EnvironmentError(`no ${wanted.namespace}/${wanted.name} Service, and ${candidates.length} ingress gateway Services: ${candidates.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`).join(', ')}`,
      'choose one with --gateway NS/NAME');
  }
  return candidates[0] ?? null;
}
