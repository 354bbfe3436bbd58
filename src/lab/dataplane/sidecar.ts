import type { IncomingMessage } from 'node:http';
import { APP_PORT, SVC_WORKLOAD, outboundCluster, serviceFqdn } from '../../topology/reference.js';
import { DownstreamListener } from './downstream-listener.js';
import { forwardRequest, type HttpListenerConfig } from './http-forward.js';
import { requestMetricLabels } from './istio-metrics.js';
import type { LabProxy } from './lab-proxy.js';
import type { HopName, MeshContext } from './mesh-context.js';
import { UpstreamCluster, type UpstreamRoute } from './upstream-cluster.js';

/** ALPN Istio's inbound chains offer, and what its outbound clusters ask for. */
export const INBOUND_ALPN = ['istio-peer-exchange', 'h2', 'http/1.1'];
export const ISTIO_UPSTREAM_ALPN = ['istio-peer-exchange', 'istio'];

function istioSni(port: number, host: string): string {
  return `outbound_.${port}_._.${host}`;
}

/** The mTLS (or plaintext) route an Istio outbound cluster takes to a workload. */
export function meshRoute(proxy: LabProxy, port: number, host: string, peerSpiffe: string, mtls: boolean): Omit<UpstreamRoute, 'port'> {
  return {
    host: '127.0.0.1',
    tls: mtls ? {
      certPem: proxy.identity.chainPem,
      keyPem: proxy.identity.keyPem,
      rootPem: proxy.identity.rootPem,
      sni: istioSni(port, host),
      alpn: ISTIO_UPSTREAM_ALPN,
      expectedSan: peerSpiffe,
    } : null,
  };
}

function hostMatches(req: IncomingMessage, host: string, port: number): boolean {
  const h = (req.headers.host ?? '').toLowerCase();
  const name = host.split('.')[0];
  const ns = host.split('.')[1];
  return [host, `${host}:${port}`, name, `${name}:${port}`, `${name}.${ns}`, `${name}.${ns}:${port}`].includes(h);
}

export interface SidecarOptions {
  proxy: LabProxy;
  mesh: MeshContext;
  /** Hop from this sidecar to its app (loopback). */
  appHop: HopName;
  inboundMode(): 'STRICT' | 'PERMISSIVE';
  /** bff only: the app's calls to svc. */
  outboundToSvc: boolean;
}

/**
 * An Istio sidecar: virtualInbound (0.0.0.0_15006) in front of the app and, for bff, the
 * outbound HTTP listener for port 8080 (0.0.0.0_8080) that re-encrypts to svc.
 */
export class Sidecar {
  readonly inbound: DownstreamListener;
  readonly outbound: DownstreamListener | null = null;
  readonly inboundCluster: UpstreamCluster;
  readonly svcCluster: UpstreamCluster | null = null;

  constructor(opts: SidecarOptions) {
    const { proxy, mesh } = opts;
    const self = mesh.workloadBySpiffe(proxy.workload.spiffeId);
    this.inboundCluster = new UpstreamCluster(`inbound|${APP_PORT}||`, proxy, () => ({ host: '127.0.0.1', port: mesh.hopPort(opts.appHop), tls: null }));
    const inboundHttp: HttpListenerConfig = {
      proxy,
      statPrefix: `inbound_0.0.0.0_${APP_PORT}`,
      xfcc: 'APPEND_FORWARD',
      outbound: false,
      route: () => ({ cluster: this.inboundCluster, routeName: 'default' }),
      metricLabels: (facts, result, flags) => requestMetricLabels({
        reporter: 'destination',
        source: mesh.workloadBySpiffe(facts.peer?.uriSans[0] ?? null),
        destination: self,
        sourcePrincipal: facts.peer?.uriSans[0] ?? null,
        destinationPrincipal: facts.peer ? proxy.workload.spiffeId : null,
        destinationService: proxy.serviceHost,
        destinationServiceName: proxy.workload.name,
        destinationServiceNamespace: proxy.workload.namespace,
        responseCode: result.status,
        responseFlags: flags,
        mtls: facts.peer !== null,
      }),
    };
    this.inbound = new DownstreamListener(proxy, `0.0.0.0_${15006}`, () => ({
      tls: {
        keyPem: proxy.identity.keyPem,
        certPem: proxy.identity.chainPem,
        caPem: proxy.identity.rootPem,
        requireClientCertificate: true,
        alpn: INBOUND_ALPN,
        localUriSan: proxy.workload.spiffeId,
      },
      plaintext: opts.inboundMode() === 'PERMISSIVE',
    }), (req, res) => void forwardRequest(inboundHttp, req, res));

    if (opts.outboundToSvc) {
      const svcHost = serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace);
      const svcCluster = new UpstreamCluster(outboundCluster(APP_PORT, svcHost), proxy, () => ({
        ...meshRoute(proxy, APP_PORT, svcHost, SVC_WORKLOAD.spiffeId, mesh.current().svcSidecar),
        port: mesh.hopPort('bff->svc'),
      }));
      this.svcCluster = svcCluster;
      const outboundHttp: HttpListenerConfig = {
        proxy,
        statPrefix: `outbound_0.0.0.0_${APP_PORT}`,
        xfcc: 'SANITIZE_SET',
        outbound: true,
        route: (req) => (hostMatches(req, svcHost, APP_PORT) ? { cluster: svcCluster, routeName: 'default' } : null),
        metricLabels: (_facts, result, flags) => requestMetricLabels({
          reporter: 'source',
          source: self,
          destination: result.upstreamPeerUriSan ? mesh.workloadBySpiffe(result.upstreamPeerUriSan) : mesh.current().svcSidecar ? null : mesh.workloadBySpiffe(SVC_WORKLOAD.spiffeId),
          sourcePrincipal: result.upstreamPeerUriSan ? proxy.workload.spiffeId : null,
          destinationPrincipal: result.upstreamPeerUriSan,
          destinationService: svcHost,
          destinationServiceName: SVC_WORKLOAD.name,
          destinationServiceNamespace: SVC_WORKLOAD.namespace,
          responseCode: result.status,
          responseFlags: flags,
          mtls: false,
        }),
      };
      this.outbound = new DownstreamListener(proxy, `0.0.0.0_${APP_PORT}`, () => ({ tls: null, plaintext: true }), (req, res) => void forwardRequest(outboundHttp, req, res));
    }
  }

  async listen(): Promise<void> {
    await this.inbound.listen();
    if (this.outbound) await this.outbound.listen();
  }

  /** Drop pooled upstream connections (after a config or certificate change). */
  resetPools(): void {
    this.inboundCluster.reset();
    this.svcCluster?.reset();
  }

  async close(): Promise<void> {
    this.resetPools();
    await Promise.all([this.inbound.close(), this.outbound?.close()]);
  }
}
