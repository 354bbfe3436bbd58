import { X509Certificate } from 'node:crypto';
import { splitSubjectAltName } from '../../envoy/certificate.js';
import { LAB_ENVOY_REVISION, LAB_ENVOY_VERSION, LAB_ISTIO_VERSION, type LabProxy } from './lab-proxy.js';

/** Envoy's /certs CertificateDetails for one PEM certificate. */
function certDetails(pem: string, now: number): Record<string, unknown> {
  const x = new X509Certificate(pem);
  const { uriSans, dnsSans } = splitSubjectAltName(x.subjectAltName);
  const validTo = new Date(x.validTo);
  return {
    path: '<inline>',
    serial_number: x.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    subject_alt_names: [...uriSans.map((uri) => ({ uri })), ...dnsSans.map((dns) => ({ dns }))],
    days_until_expiration: String(Math.max(0, Math.floor((validTo.getTime() - now) / 86_400_000))),
    valid_from: new Date(x.validFrom).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    expiration_time: validTo.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** `GET /certs`: one entry per TLS context in use (workload cert with ROOTCA; gateway credential). */
export function renderCerts(proxy: LabProxy, extraChains: string[] = [], now = Date.now()): string {
  const certificates = [
    { ca_cert: splitPem(proxy.identity.rootPem).map((p) => certDetails(p, now)), cert_chain: splitPem(proxy.identity.chainPem).map((p) => certDetails(p, now)) },
    ...extraChains.map((chain) => ({ ca_cert: [], cert_chain: splitPem(chain).map((p) => certDetails(p, now)) })),
  ];
  return JSON.stringify({ certificates }, null, 1);
}

/** `GET /clusters` (text) and `?format=json`. */
export function renderClusters(proxy: LabProxy, json: boolean): string {
  const list = [...proxy.clusters.values()];
  if (json) {
    return JSON.stringify({
      cluster_statuses: list.map((c) => {
        const ep = c.endpoint();
        const counters = c.counters();
        return {
          name: c.name,
          added_via_api: true,
          host_statuses: [{
            address: { socket_address: { address: ep.address, port_value: ep.port } },
            stats: [
              { name: 'cx_connect_fail', value: String(counters.cx_connect_fail ?? 0) },
              { name: 'cx_total', value: String(counters.cx_total ?? 0) },
              { name: 'rq_error', value: String(counters.rq_error ?? 0) },
              { name: 'rq_success', value: String(counters.rq_success ?? 0) },
              { name: 'rq_timeout', value: '0' },
              { name: 'rq_total', value: String(counters.rq_total ?? 0) },
              { type: 'GAUGE', name: 'cx_active', value: '0' },
              { type: 'GAUGE', name: 'rq_active', value: '0' },
            ],
            health_status: { eds_health_status: 'HEALTHY' },
            weight: 1,
            locality: {},
          }],
        };
      }),
    }, null, 1);
  }
  const lines: string[] = [];
  for (const c of list) {
    lines.push(`${c.name}::observability_name::${c.name}`, `${c.name}::outlier::success_rate_average::-1`, `${c.name}::default_priority::max_connections::4294967295`, `${c.name}::added_via_api::true`);
    const ep = c.endpoint();
    const host = `${ep.address}:${ep.port}`;
    for (const [k, v] of Object.entries(c.counters())) lines.push(`${c.name}::${host}::${k}::${v}`);
    lines.push(`${c.name}::${host}::hostname::`, `${c.name}::${host}::health_flags::healthy`, `${c.name}::${host}::weight::1`);
  }
  return lines.join('\n') + '\n';
}

/** `GET /server_info`. */
export function renderServerInfo(proxy: LabProxy, now = Date.now()): string {
  const uptime = Math.floor((now - proxy.startedAt.getTime()) / 1000);
  return JSON.stringify({
    version: `${LAB_ENVOY_REVISION}/${LAB_ENVOY_VERSION}/Clean/RELEASE/BoringSSL`,
    state: 'LIVE',
    hot_restart_version: 'disabled',
    command_line_options: {
      base_id: '0', concurrency: 2, config_path: 'etc/istio/proxy/envoy-rev.json', mode: 'Serve',
      service_cluster: `${proxy.workload.name}.${proxy.workload.namespace}`, service_node: proxy.nodeId,
      drain_time: '45s', parent_shutdown_time: '60s', log_level: 'warning',
    },
    node: {
      id: proxy.nodeId,
      cluster: `${proxy.workload.name}.${proxy.workload.namespace}`,
      metadata: { ISTIO_VERSION: LAB_ISTIO_VERSION, NAMESPACE: proxy.workload.namespace, NAME: proxy.placement.podName, SERVICE_ACCOUNT: proxy.workload.serviceAccount },
      user_agent_name: 'envoy',
    },
    uptime_current_epoch: `${uptime}s`,
    uptime_all_epochs: `${uptime}s`,
  }, null, 1);
}
