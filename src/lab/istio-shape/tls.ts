import { TRUST_DOMAIN } from '../../topology/reference.js';
import type { TlsParams } from '../types.js';
import { mergeTlsParams, type TlsParamsPatch } from '../envoy-filter.js';

/**
 * Envoy TLS transport-socket config as Istio generates it. Istio's SDS source is istio-agent's
 * socket (`sds-grpc`) for `default`/`ROOTCA` and ADS for `kubernetes://<credentialName>`
 * (istio pilot/pkg/networking/util/util.go, model/authentication.go ConstructSdsSecretConfig);
 * the lab has no agent, so every secret comes from a watched file of the lab (a DiscoveryResponse
 * per secret, replaced by rename: a rotation is a new version, as an SDS push is).
 */
export type SdsSource = (secretName: string) => Record<string, unknown>;

/** Istio's ISTIO_MUTUAL client context (cluster_tls.go defaultUpstreamCommonTLSContext): no mesh config setting changes it. */
const TLS_PARAMS = { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' };

/** TlsParams (control-plane.ts) as Envoy's common_tls_context.tls_params; an unset field is left out. */
export function tlsParameters(p: TlsParams): Record<string, unknown> {
  return {
    ...(p.minVersion ? { tls_minimum_protocol_version: p.minVersion } : {}),
    ...(p.maxVersion ? { tls_maximum_protocol_version: p.maxVersion } : {}),
    ...(p.cipherSuites?.length ? { cipher_suites: p.cipherSuites } : {}),
    ...(p.ecdhCurves?.length ? { ecdh_curves: p.ecdhCurves } : {}),
  };
}

export function sdsSecret(name: string, source: SdsSource): Record<string, unknown> {
  return { name, sds_config: source(name) };
}

function meshValidation(sanMatch: Record<string, string>, source: SdsSource): Record<string, unknown> {
  return {
    default_validation_context: { match_subject_alt_names: [sanMatch] },
    validation_context_sds_secret_config: sdsSecret('ROOTCA', source),
  };
}

/** An Istio mTLS server context: cert `default`, client cert required, validated by ROOTCA; `params` from meshConfig.meshMTLS. */
export function istioDownstreamTls(alpn: string[], source: SdsSource, params: TlsParams, patches: TlsParamsPatch[] = []): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: {
        tls_params: mergeTlsParams(tlsParameters(params), patches),
        alpn_protocols: alpn,
        tls_certificate_sds_secret_configs: [sdsSecret('default', source)],
        combined_validation_context: meshValidation({ prefix: `spiffe://${TRUST_DOMAIN}/` }, source),
      },
      require_client_certificate: true,
    },
  };
}

/** The gateway's server context for a Gateway SIMPLE server with credentialName; `params` from tlsDefaults and the Gateway. */
export function gatewayDownstreamTls(credentialName: string, source: SdsSource, params: TlsParams, patches: TlsParamsPatch[] = []): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: {
        tls_params: mergeTlsParams(tlsParameters(params), patches),
        alpn_protocols: ['h2', 'http/1.1'],
        tls_certificate_sds_secret_configs: [sdsSecret(`kubernetes://${credentialName}`, source)],
      },
      require_client_certificate: false,
    },
  };
}

/** Istio's auto-mTLS upstream context for a cluster to `host:port` whose pods run as `peerSpiffe`. */
export function istioUpstreamTls(port: number, host: string, peerSpiffe: string, source: SdsSource, patches: TlsParamsPatch[] = []): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        tls_params: mergeTlsParams(TLS_PARAMS, patches),
        alpn_protocols: ['istio-peer-exchange', 'istio'],
        tls_certificate_sds_secret_configs: [sdsSecret('default', source)],
        combined_validation_context: meshValidation({ exact: peerSpiffe }, source),
      },
      sni: `outbound_.${port}_._.${host}`,
    },
  };
}

export const RAW_BUFFER = {
  name: 'envoy.transport_sockets.raw_buffer',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' },
};

/** transport_socket_matches of an Istio outbound cluster (auto mTLS). */
export function autoMtlsMatches(port: number, host: string, peerSpiffe: string, source: SdsSource, patches: TlsParamsPatch[] = []): Record<string, unknown>[] {
  return [
    { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioUpstreamTls(port, host, peerSpiffe, source, patches) },
    { name: 'tlsMode-disabled', match: {}, transport_socket: RAW_BUFFER },
  ];
}
