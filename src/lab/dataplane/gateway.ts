import type { IncomingMessage } from 'node:http';
import { APP_PORT, BFF_WORKLOAD, GATEWAY_HTTPS_TARGET_PORT, PUBLIC_HOST, outboundCluster, serviceFqdn } from '../../topology/reference.js';
import { DownstreamListener } from './downstream-listener.js';
import { forwardRequest, type HttpListenerConfig } from './http-forward.js';
import { requestMetricLabels } from './istio-metrics.js';
import type { LabProxy } from './lab-proxy.js';
import type { MeshContext } from './mesh-context.js';
import { meshRoute } from './sidecar.js';
import { UpstreamCluster } from './upstream-cluster.js';

export interface GatewayOptions {
  proxy: LabProxy;
  mesh: MeshContext;
  /** The Gateway credential (kubernetes://mesh-verify-credential), read per connection so that a
   *  credential pushed over "SDS" (a changed Secret) is served from the next handshake on. */
  credential: () => { certPem: string; keyPem: string };
  /** Runs during each request before the answer goes out (the permissive-svc plaintext caller). */
  duringRequest?: () => Promise<void>;
}

function isPublicHost(req: IncomingMessage): boolean {
  const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  return host === PUBLIC_HOST;
}

/**
 * The ingress gateway: listener 0.0.0.0_8443 terminates the client's TLS with the Gateway
 * credential, routes Host PUBLIC_HOST to bff and re-encrypts with Istio mTLS (or plaintext when
 * the state says so), verifying bff's SPIFFE identity.
 */
export class IngressGateway {
  readonly listener: DownstreamListener;
  readonly bffCluster: UpstreamCluster;

  constructor(opts: GatewayOptions) {
    const { proxy, mesh } = opts;
    const bffHost = serviceFqdn(BFF_WORKLOAD.name, BFF_WORKLOAD.namespace);
    const self = mesh.workloadBySpiffe(proxy.workload.spiffeId);
    this.bffCluster = new UpstreamCluster(outboundCluster(APP_PORT, bffHost), proxy, () => ({
      ...meshRoute(proxy, APP_PORT, bffHost, BFF_WORKLOAD.spiffeId, mesh.current().gatewayToBff === 'mtls'),
      port: mesh.hopPort('gateway->bff'),
    }));
    const http: HttpListenerConfig = {
      proxy,
      statPrefix: `outbound_0.0.0.0_${GATEWAY_HTTPS_TARGET_PORT}`,
      xfcc: 'SANITIZE_SET',
      outbound: true,
      edge: true,
      route: (req) => (isPublicHost(req) ? { cluster: this.bffCluster, routeName: null } : null),
      metricLabels: (_facts, result, flags) => requestMetricLabels({
        reporter: 'source',
        source: self,
        destination: mesh.workloadBySpiffe(BFF_WORKLOAD.spiffeId),
        sourcePrincipal: result.upstreamPeerUriSan ? proxy.workload.spiffeId : null,
        destinationPrincipal: result.upstreamPeerUriSan,
        destinationService: bffHost,
        destinationServiceName: BFF_WORKLOAD.name,
        destinationServiceNamespace: BFF_WORKLOAD.namespace,
        responseCode: result.status,
        responseFlags: flags,
        mtls: false,
      }),
    };
    this.listener = new DownstreamListener(proxy, `0.0.0.0_${GATEWAY_HTTPS_TARGET_PORT}`, () => ({
      tls: {
        keyPem: opts.credential().keyPem,
        certPem: opts.credential().certPem,
        caPem: null,
        requireClientCertificate: false,
        alpn: ['http/1.1'],
        localUriSan: null,
      },
      plaintext: false,
    }), (req, res) => {
      const side = opts.duringRequest?.() ?? Promise.resolve();
      void Promise.all([side, forwardRequest({ ...http, beforeResponse: () => side }, req, res)]);
    });
  }

  resetPools(): void {
    this.bffCluster.reset();
  }

  async close(): Promise<void> {
    this.resetPools();
    await this.listener.close();
  }
}
