import { describe, expect, it } from 'vitest';
import { namespaceFacts, podFacts } from '../../src/collect/audit/kube-facts.js';

/**
 * Pod objects as Istio's injector writes them. The sidecar template (Istio 1.30.3
 * manifests/charts/istio-control/istio-discovery/files/injection-template.yaml) puts istio-proxy
 * under `initContainers` with `restartPolicy: Always` when native sidecars are on (default with
 * Istio >= 1.27 on Kubernetes >= 1.33; pkg/kube/inject/inject.go moves the container there), and
 * starts it as `proxy sidecar`; the gateway template (files/gateway-injection-template.yaml)
 * starts it as `proxy router` in `containers`. Only the fields the audit reads are kept.
 */
const proxyContainer = (role: 'sidecar' | 'router', native: boolean) => ({
  name: 'istio-proxy',
  image: 'docker.io/istio/proxyv2:1.30.3',
  ...(native ? { restartPolicy: 'Always' } : {}),
  ports: [{ containerPort: 15090, protocol: 'TCP', name: 'http-envoy-prom' }],
  args: ['proxy', role, '--domain', '$(POD_NAMESPACE).svc.cluster.local', '--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error', '--log_output_level=default:info'],
});
const initContainer = { name: 'istio-init', image: 'docker.io/istio/proxyv2:1.30.3', args: ['istio-iptables', '-p', '15001', '-z', '15006', '-u', '1337'] };
const app = { name: 'cart', image: 'example/cart:1', ports: [{ containerPort: 8080, protocol: 'TCP' }] };
const meta = (name: string, extra: Record<string, unknown> = {}) => ({
  name, namespace: 'shop', labels: { app: name, 'security.istio.io/tlsMode': 'istio' },
  annotations: { 'sidecar.istio.io/status': '{"initContainers":["istio-init","istio-proxy"],"containers":null,"volumes":["workload-socket"],"imagePullSecrets":null,"revision":"default"}' },
  ...extra,
});

describe('pod facts from injected pods', () => {
  it('a native sidecar (init container, restartPolicy Always) next to one app container is a sidecar, not a gateway', () => {
    const f = podFacts({ metadata: meta('cart'), spec: { initContainers: [initContainer, proxyContainer('sidecar', true)], containers: [app] } }, null);
    expect(f).toMatchObject({ hasSidecar: true, nativeSidecar: true, gateway: false, ports: [8080], revision: 'default' });
  });

  it('a classic sidecar in containers is a sidecar; an istio-proxy init container without restartPolicy Always is no sidecar', () => {
    expect(podFacts({ metadata: meta('cart'), spec: { initContainers: [initContainer], containers: [app, proxyContainer('sidecar', false)] } }, null))
      .toMatchObject({ hasSidecar: true, nativeSidecar: false, gateway: false, ports: [8080] });
    const { restartPolicy: _r, ...runOnce } = proxyContainer('sidecar', true) as Record<string, unknown>;
    expect(podFacts({ metadata: meta('cart'), spec: { initContainers: [runOnce], containers: [app] } }, null)).toMatchObject({ hasSidecar: false, gateway: false });
  });

  it('a gateway is the router role: `proxy router`, or the gateway template asked for before injection', () => {
    const gw = podFacts({ metadata: { name: 'istio-ingressgateway-5d8f', namespace: 'istio-ingress', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
      spec: { containers: [proxyContainer('router', false)] } }, null);
    expect(gw).toMatchObject({ hasSidecar: true, gateway: true, nativeSidecar: false });
    // Istio's Helm gateway chart: a container named istio-proxy with image auto, and the template annotation.
    const pending = podFacts({ metadata: { name: 'gw', namespace: 'istio-ingress', annotations: { 'inject.istio.io/templates': 'gateway' } },
      spec: { containers: [{ name: 'istio-proxy', image: 'auto' }] } }, null);
    expect(pending.gateway).toBe(true);
    // A sidecar alone in its pod (no app container) is still a sidecar.
    expect(podFacts({ metadata: meta('lonely'), spec: { containers: [proxyContainer('sidecar', false)] } }, null).gateway).toBe(false);
  });

  it('ambient labels and the enrolment annotation are kept (istio.io/dataplane-mode, ambient.istio.io/redirection)', () => {
    const f = podFacts({ metadata: { name: 'search', namespace: 'shop', labels: { app: 'search', 'istio.io/dataplane-mode': 'ambient' }, annotations: { 'ambient.istio.io/redirection': 'enabled' } },
      spec: { containers: [app] } }, null);
    expect(f).toMatchObject({ hasSidecar: false, dataplaneMode: 'ambient', ambientRedirection: 'enabled' });
    expect(namespaceFacts({ metadata: { name: 'mall', labels: { 'istio.io/dataplane-mode': 'ambient' } } })).toEqual({ name: 'mall', injected: false, revision: null, dataplaneMode: 'ambient' });
  });
});
