import { TRUST_DOMAIN } from '../../topology/reference.js';

/** Envoy TLS transport-socket config as Istio generates it (SDS from istio-agent). */
const SDS_CONFIG = {
  api_config_source: {
    api_type: 'GRPC',
    grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }],
    set_node_on_first_message_only: true,
    transport_api_version: 'V3',
  },
  initial_fetch_timeout: '0s',
  resource_api_version: 'V3',
};

/** Gateway credentials come from istiod over ADS (`kubernetes://<credentialName>`). */
const ADS_SDS_CONFIG = { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' };

const TLS_PARAMS = { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' };
const CIPHERS = ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-GCM-SHA256'];

export function sdsSecret(name: string, viaAds = false): Record<string, unknown> {
  return { name, sds_config: viaAds ? ADS_SDS_CONFIG : SDS_CONFIG };
}

function meshValidation(sanMatch: Record<string, string>): Record<string, unknown> {
  return {
    default_validation_context: { match_subject_alt_names: [sanMatch] },
    validation_context_sds_secret_config: sdsSecret('ROOTCA'),
  };
}

/** An Istio mTLS server context: cert `default`, client cert required, validated by ROOTCA. */
export function istioDownstreamTls(alpn: string[]): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: {
        tls_params: { ...TLS_PARAMS, cipher_suites: CIPHERS },
        alpn_protocols: alpn,
        tls_certificate_sds_secret_configs: [sdsSecret('default')],
        combined_validation_context: meshValidation({ prefix: `spiffe://${TRUST_DOMAIN}/` }),
      },
      require_client_certificate: true,
    },
  };
}

/** The gateway's server context for a Gateway SIMPLE server with credentialName. */
export function gatewayDownstreamTls(credentialName: string): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
        alpn_protocols: ['h2', 'http/1.1'],
        tls_certificate_sds_secret_configs: [sdsSecret(`kubernetes://${credentialName}`, true)],
      },
      require_client_certificate: false,
    },
  };
}

/** Istio's auto-mTLS upstream context for a cluster to `host:port` whose pods run as `peerSpiffe`. */
export function istioUpstreamTls(port: number, host: string, peerSpiffe: string): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        tls_params: TLS_PARAMS,
        alpn_protocols: ['istio-peer-exchange', 'istio'],
        tls_certificate_sds_secret_configs: [sdsSecret('default')],
        combined_validation_context: meshValidation({ exact: peerSpiffe }),
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
export function autoMtlsMatches(port: number, host: string, peerSpiffe: string): Record<string, unknown>[] {
  return [
    { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioUpstreamTls(port, host, peerSpiffe) },
    { name: 'tlsMode-disabled', match: {}, transport_socket: RAW_BUFFER },
  ];
}

/** xds-grpc's explicit upstream TLS to istiod (the lab simulates this connection). */
export function xdsUpstreamTls(): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        validation_context: {
          trusted_ca: { filename: './var/run/secrets/istio/root-cert.pem' },
          match_subject_alt_names: [{ exact: 'istiod.istio-system.svc' }],
        },
        alpn_protocols: ['h2'],
        tls_certificate_sds_secret_configs: [sdsSecret('default')],
      },
      sni: 'istiod.istio-system.svc',
    },
  };
}
