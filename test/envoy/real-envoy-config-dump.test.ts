import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspectConfigDump } from '../../src/envoy/config-dump.js';
import { parseCerts } from '../../src/envoy/certs.js';
import { assembleInspectResult } from '../../src/inspect/assemble.js';
import { createRootCa, issueCertificate } from '../../src/pki/ca.js';

/**
 * The real Envoy (the pinned 1.38.3 from scripts/setup-components.sh) serves the dumps: a
 * gateway-like listener whose only certificate is an SDS secret that never arrives (warming), a
 * listener with file-mounted certificates, and a static ROOTCA secret with the SPIFFE validator's
 * per-trust-domain bundles, as Istio configures multi-trust-domain meshes.
 */
function envoyBinary(): string | null {
  try {
    const out = execFileSync('bash', [new URL('../../scripts/setup-components.sh', import.meta.url).pathname, '--print'], { encoding: 'utf8' });
    const path = /^envoy (\/\S+)$/m.exec(out)?.[1];
    return path && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}
const ENVOY = envoyBinary();
const SKIP = ENVOY ? '' : '(skipped: the pinned Envoy is not installed; run npm run setup)';

// In CI a missing Envoy is a failure, never a skip.
if (process.env.CI && !ENVOY) throw new Error('the pinned Envoy is not installed (run npm run setup)');
describe.skipIf(!ENVOY)(`real Envoy config_dump and /certs ${SKIP}`, () => {
  let dir: string;
  let envoy: ChildProcess | undefined;
  let dump: unknown;
  let certs: unknown;
  let capturedAt: Date;
  let rootNotAfter: Date;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mv-real-envoy-'));
    const root = await createRootCa('east.local root');
    rootNotAfter = root.notAfter;
    // 10.5 days: far from a day boundary, so the seconds between capture and /certs cannot matter.
    const leaf = await issueCertificate(root, { uriSans: ['spiffe://east.local/ns/a/sa/b'], notAfterMs: 10.5 * 86_400_000 });
    writeFileSync(join(dir, 'cert.pem'), leaf.chainPem);
    writeFileSync(join(dir, 'key.pem'), leaf.keyPem);
    writeFileSync(join(dir, 'root.pem'), root.certPem);
    const tls = (common: object) => ({
      name: 'envoy.transport_sockets.tls',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', common_tls_context: common },
    });
    const tcp = [{ name: 'tcp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'sds-grpc' } }];
    // An SDS server that never answers (port 1 on loopback): the secret stays warming.
    const sds = (name: string) => ({ name, sds_config: { resource_api_version: 'V3', api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] } } });
    const local = { socket_address: { address: '127.0.0.1', port_value: 0 } };
    const lds = { version_info: '1', resources: [{
      '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: '0.0.0.0_8443', address: local,
      filter_chains: [{ filter_chain_match: { server_names: ['web.example.test'] }, filters: tcp, transport_socket: tls({ tls_certificate_sds_secret_configs: [sds('kubernetes://missing-credential')] }) }],
    }] };
    writeFileSync(join(dir, 'lds.json'), JSON.stringify(lds));
    const bootstrap = {
      node: { id: 'router~10.0.0.1~gw-abc.istio-system~istio-system.svc.cluster.local', cluster: 'gw', metadata: { ISTIO_VERSION: '1.30.3' } },
      admin: { address: local },
      static_resources: {
        secrets: [{ name: 'ROOTCA', validation_context: { custom_validator_config: { name: 'envoy.tls.cert_validator.spiffe', typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig',
          trust_domains: [{ name: 'east.local', trust_bundle: { inline_string: root.certPem } }, { name: 'west.local', trust_bundle: { filename: join(dir, 'root.pem') } }],
        } } } }],
        listeners: [{ name: 'file_tls', address: local, filter_chains: [{ filters: tcp, transport_socket: tls({
          tls_certificates: [{ certificate_chain: { filename: join(dir, 'cert.pem') }, private_key: { filename: join(dir, 'key.pem') } }],
          validation_context: { trusted_ca: { filename: join(dir, 'root.pem') } },
        }) }] }],
        clusters: [{
          name: 'sds-grpc', type: 'STATIC', connect_timeout: '1s',
          typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } },
          load_assignment: { cluster_name: 'sds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] },
        }],
      },
      dynamic_resources: { lds_config: { resource_api_version: 'V3', path_config_source: { path: join(dir, 'lds.json') } } },
    };
    writeFileSync(join(dir, 'bootstrap.json'), JSON.stringify(bootstrap));
    const adminFile = join(dir, 'admin-address');
    envoy = spawn(ENVOY!, ['-c', join(dir, 'bootstrap.json'), '--admin-address-path', adminFile, '--use-dynamic-base-id', '-l', 'error'], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(adminFile); i++) await sleep(50);
    const admin = readFileSync(adminFile, 'utf8').trim();
    // The SDS secret and the LDS listener exist once the listener manager has the LDS file.
    for (let i = 0; i < 100; i++) {
      dump = await (await fetch(`http://${admin}/config_dump?include_eds`)).json();
      if (JSON.stringify(dump).includes('missing-credential')) break;
      await sleep(50);
    }
    capturedAt = new Date();
    certs = await (await fetch(`http://${admin}/certs`)).json();
  }, 30_000);

  afterAll(() => {
    envoy?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a listener whose only certificate is a warming SDS secret cannot complete a handshake', () => {
    const p = inspectConfigDump(dump, { now: capturedAt });
    const gw = p.listeners.find((l) => l.name === '0.0.0.0_8443')!;
    expect(gw).toMatchObject({ state: 'warming', downstreamTls: 'tls', secrets: ['kubernetes://missing-credential'] });
    expect(gw.filterChains[0].serverNames).toEqual(['web.example.test']);
    expect(gw.certificateWarming).toBe('cannot complete a TLS handshake: its only certificate kubernetes://missing-credential is still warming (SDS has not delivered it)');
    expect(p.secrets.find((s) => s.name === 'kubernetes://missing-credential')).toMatchObject({ state: 'warming', kind: 'unknown' });
  });

  it('file-mounted certificates are named by their path', () => {
    const p = inspectConfigDump(dump, { now: capturedAt });
    const file = p.listeners.find((l) => l.name === 'file_tls')!;
    expect(file.filterChains[0]).toMatchObject({ tls: 'tls', certificateSecrets: [join(dir, 'cert.pem')], validationFile: join(dir, 'root.pem') });
    expect(file.secrets).toEqual([join(dir, 'cert.pem'), join(dir, 'root.pem')]);
  });

  it('decodes the SPIFFE validator bundle per trust domain (inline) and names the file one', () => {
    const p = inspectConfigDump(dump, { now: capturedAt });
    const root = p.secrets.find((s) => s.name === 'ROOTCA' && s.state === 'active')!;
    expect(root.kind).toBe('trust-bundle');
    expect(root.trustDomains?.map((t) => [t.name, t.roots.length, t.file ?? null])).toEqual([['east.local', 1, null], ['west.local', 0, join(dir, 'root.pem')]]);
    expect(root.notAfter).toBe(new Date(Math.floor(rootNotAfter.getTime() / 1000) * 1000).toISOString());
  });

  it('days left: the same number Envoy printed at capture time, another number later', () => {
    const posture = inspectConfigDump(dump, { now: capturedAt });
    const entries = parseCerts(certs);
    const leaf = entries.flatMap((e) => e.certChain)[0];
    // Envoy truncates whole days (ASN1_TIME_diff): 10.5 days left -> 10.
    expect(leaf.daysUntilExpiration).toBe(10);
    const atCapture = assembleInspectResult(posture, entries, undefined, capturedAt).certificates!.entries.find((e) => e.role === 'chain')!;
    expect(atCapture.daysUntilExpiration).toBe(leaf.daysUntilExpiration);
    const later = assembleInspectResult(posture, entries, undefined, new Date(capturedAt.getTime() + 30 * 86_400_000)).certificates!.entries.find((e) => e.role === 'chain')!;
    expect(later).toMatchObject({ expired: true, capturedDaysUntilExpiration: 10, daysUntilExpiration: -19 });
  });
});
