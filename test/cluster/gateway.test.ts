import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { EnvironmentError } from '../../src/core/errors.js';
import { findGateway, gatewayFromService } from '../../src/cluster/gateway.js';
import { connectKube, type KubeClients } from '../../src/cluster/kube-client.js';
import { istioInstallObjects } from '../../src/lab/istio-install.js';
import { referenceTargets } from '../../src/path/targets.js';
import { createGatewayCredential } from '../../src/topology/credentials.js';
import { buildTopology } from '../../src/topology/manifests.js';
import { referencePathSpec } from '../../src/topology/path-spec.js';
import { realClusterMissing, startRealCluster, type RealCluster } from '../helpers/real-cluster.js';

/**
 * The Service Istio's Helm gateway chart renders for `helm install istio-ingress istio/gateway
 * -n istio-ingress` (manifests/charts/gateway at 1.30.3: templates/service.yaml; labels and
 * selector from _helpers.tpl gateway.selectorLabels: app = the release name, istio = the release
 * name without its "istio-" prefix; ports from values.yaml service.ports, https 443 -> 443; type
 * LoadBalancer; the service account is the release name, gateway.serviceAccountName).
 */
function helmGatewayService(release: string, namespace: string): V1Service {
  const selector = { app: release, istio: release.replace(/^istio-/, '') };
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: release, namespace, labels: { 'app.kubernetes.io/name': release, ...selector } },
    spec: {
      type: 'LoadBalancer', selector,
      ports: [
        { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021 as never },
        { name: 'http2', port: 80, protocol: 'TCP', targetPort: 80 as never },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 443 as never },
      ],
    },
  };
}

/**
 * On the real control plane (one per file): the pods are real API objects on kwok's node (a Helm
 * release's gateway pod, made by hand here; istioctl's from its Deployment's real ReplicaSet).
 */
describe.skipIf(realClusterMissing !== null)('the ingress gateway is found from its Service', () => {
  let c: RealCluster;
  let clients: KubeClients;
  beforeAll(async () => {
    c = await startRealCluster();
    clients = await connectKube({ kubeconfig: c.adminKubeconfig('lab') });
  }, 120_000);
  afterAll(async () => { await c?.stop(); });
  const deleteService = async (ns: string, name: string) => {
    const r = await c.api('DELETE', `/api/v1/namespaces/${ns}/services/${name}`);
    expect([200, 404]).toContain(r.status);
  };

  describe('Helm gateway chart (release istio-ingress in namespace istio-ingress)', () => {
    beforeAll(async () => {
      await c.envoyPod({ namespace: 'istio-ingress', name: 'istio-ingress-6d9c7-x2x4k', labels: { app: 'istio-ingress', istio: 'ingress' }, serviceAccount: 'istio-ingress', containers: ['istio-proxy'], admin: null });
      await c.apply([helmGatewayService('istio-ingress', 'istio-ingress') as never], 'helm');
    }, 60_000);

    it('with --gateway: pods, identity and the listener on targetPort 443', async () => {
      const gw = await findGateway(clients, { ref: { namespace: 'istio-ingress', name: 'istio-ingress' } });
      expect(gw).toEqual({
        namespace: 'istio-ingress', service: 'istio-ingress', podLabels: { app: 'istio-ingress', istio: 'ingress' },
        serviceAccount: 'istio-ingress', spiffeId: 'spiffe://cluster.local/ns/istio-ingress/sa/istio-ingress', httpsPort: 443, targetPort: 443,
      });
    });

    it('without --gateway (no istio-system/istio-ingressgateway): the one gateway Service, said so', async () => {
      const info: string[] = [];
      const gw = await findGateway(clients, { onInfo: (l) => info.push(l) });
      expect(gw.service).toBe('istio-ingress');
      expect(info).toEqual(['no istio-system/istio-ingressgateway Service: using the ingress gateway Service istio-ingress/istio-ingress (choose another with --gateway NS/NAME)']);
    });

    it('everything downstream uses it: path listener and identities, collector targets, the Gateway selector, the credential namespace', async () => {
      const gw = await findGateway(clients, { ref: { namespace: 'istio-ingress', name: 'istio-ingress' } });
      const path = referencePathSpec({ entry: { address: '127.0.0.1', port: 443, kind: 'loadbalancer' }, gatewayCaPem: null, gateway: gw });
      expect(path.segments.find((s) => s.id === 'nlb->gateway')!.hints.listener).toBe('0.0.0.0_443');
      expect(path.segments.find((s) => s.id === 'gateway->bff-sidecar')!.hints.clientIdentity).toBe('spiffe://cluster.local/ns/istio-ingress/sa/istio-ingress');
      expect(referenceTargets(gw)[0]).toEqual({ id: 'gateway', role: 'gateway', namespace: 'istio-ingress', selector: 'app=istio-ingress,istio=ingress', expectedIdentity: gw.spiffeId });
      const credential = await createGatewayCredential({ namespace: gw.namespace });
      const objects = buildTopology({ runId: 'r', gatewayCredential: credential.secret, gateway: gw }) as { kind: string; metadata: { namespace?: string }; spec?: { selector?: unknown } }[];
      expect(objects.find((o) => o.kind === 'Gateway')!.spec!.selector).toEqual({ app: 'istio-ingress', istio: 'ingress' });
      expect(objects.find((o) => o.kind === 'Secret')!.metadata.namespace).toBe('istio-ingress');
    });

    it('a --gateway that does not exist is exit 4 naming it', async () => {
      const err = await findGateway(clients, { ref: { namespace: 'istio-ingress', name: 'nope' } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toBe('ingress gateway Service istio-ingress/nope not found');
    });
  });

  it('istioctl install: istio-system/istio-ingressgateway, 443 -> 8443, listener 0.0.0.0_8443', async () => {
    await c.apply(istioInstallObjects('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', []) as never, 'istioctl');
    // The gateway Deployment's ReplicaSet makes the pod (its service account is the gateway's identity).
    for (let i = 0; i < 240; i += 1) {
      const pods = (await c.api('GET', '/api/v1/namespaces/istio-system/pods?labelSelector=app%3Distio-ingressgateway')).body?.items ?? [];
      if (pods.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const gw = await findGateway(clients);
    expect(gw).toMatchObject({ namespace: 'istio-system', service: 'istio-ingressgateway', httpsPort: 443, targetPort: 8443, spiffeId: 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account' });
  }, 60_000);

  it('two gateway Services and no --gateway: exit 4 listing both', async () => {
    await deleteService('istio-system', 'istio-ingressgateway');
    await deleteService('istio-ingress', 'istio-ingress');
    await c.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } },
      helmGatewayService('istio-ingress', 'a') as never, helmGatewayService('istio-public', 'b') as never,
    ], 'helm');
    const err = await findGateway(clients).catch((e: unknown) => e);
    expect((err as Error).message).toBe('no istio-system/istio-ingressgateway Service, and 2 ingress gateway Services: a/istio-ingress, b/istio-public');
    expect((err as EnvironmentError).fix).toBe('choose one with --gateway NS/NAME');
  });

  it('a named targetPort is read from the gateway pod; a Service without 443 is named', () => {
    const svc = helmGatewayService('istio-ingress', 'istio-ingress');
    svc.spec!.ports![2].targetPort = 'https' as never;
    const pod: V1Pod = { metadata: { name: 'p' }, spec: { serviceAccountName: 'gw', containers: [{ name: 'istio-proxy', ports: [{ name: 'https', containerPort: 8443 }] }] }, status: { phase: 'Running' } };
    expect(gatewayFromService(svc, [pod]).targetPort).toBe(8443);
    svc.spec!.ports = svc.spec!.ports!.filter((p) => p.port !== 443);
    expect(() => gatewayFromService(svc, [pod])).toThrow('gateway Service istio-ingress/istio-ingress has no port 443 (ports: status-port 15021, http2 80), where the Gateway\'s https server listens');
  });
});
