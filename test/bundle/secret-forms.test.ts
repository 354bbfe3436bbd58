import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvidenceBundle } from '../../src/bundle/types.js';
import { loadBundle } from '../../src/bundle/load.js';
import { saveBundle } from '../../src/bundle/save.js';
import { findSecrets } from '../../src/bundle/secrets.js';
import { scanFreeText } from '../../src/bundle/secret-scanner.js';
import { MeshVerifyError } from '../../src/core/errors.js';
import { analyzeAtRun, editAccessLog, loadFixture, proxy, statuses } from '../analyze/fixture-bundles.js';

/**
 * Issue 14 section 3: 50 realistic forms of a credential in a bundle. Each one is planted in a
 * recorded fixture; `saveBundle` must write a bundle without it (that `loadBundle` then accepts),
 * and `loadBundle` must refuse the unscrubbed bundle with one line (exit 2).
 */

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsaKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const encKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }).toString();
const dsaKey = `-----BEGIN DSA PRIVATE KEY-----\n${b64(randomBytes(120))}\n-----END DSA PRIVATE KEY-----\n`;
const body = (pem: string): string => pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
const sshKey = `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDn0049ssh0049ssh0049ssh0049ssh0049ssh0AAAAJgAAAAA\n-----END OPENSSH PRIVATE KEY-----\n`;
const pgpKey = `-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGYpgp0021pgp0021pgp0021pgp0021pgp0021pgp0021pgp0021AAA\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\n`;
const ssh2Key = `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key-20260302"\nP2/56wAAAi4ssh2key0022ssh2key0022ssh2key0022ssh2key0022AAAA\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n`;
const puttyKey = `PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20260302\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIputty0023\nPrivate-Lines: 1\nAAAAIputtyprivate0023putty0023putty0023putty\nPrivate-MAC: 3b1c0a9e0f7d\n`;

/** The text of an Envoy DataSource: real Envoy dumps SDS secrets as sent (the lab: inline_string). */
function dataSourceText(ds: Record<string, any>): string {
  if (typeof ds.inline_string === 'string') return ds.inline_string;
  if (typeof ds.inline_bytes === 'string') return Buffer.from(ds.inline_bytes, 'base64').toString('utf8');
  throw new Error(`not an inline DataSource: ${Object.keys(ds).join(', ')}`);
}

type Dump = { configs: Record<string, any>[] };
function editDump(b: EvidenceBundle, edit: (d: Dump) => void): void {
  const a = proxy(b, 'gateway').admin.configDump!;
  const d = JSON.parse(a.body) as Dump;
  edit(d);
  a.body = JSON.stringify(d);
}
const sec = (d: Dump): Record<string, any>[] => (d.configs.find((c) => String(c['@type']).endsWith('SecretsConfigDump')) as any).dynamic_active_secrets;
const credential = (d: Dump): Record<string, any> => sec(d).find((s) => s.name === 'kubernetes://mesh-verify-credential')!.secret;
const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
function addSecret(d: Dump, name: string, secret: Record<string, unknown>): void {
  sec(d).push({ name, version_info: '1', last_updated: '2026-03-02T09:00:00Z', secret: { '@type': SECRET_TYPE, name, ...secret } });
}
function gatewayTls(d: Dump): Record<string, any> {
  const listeners = (d.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump')) as any).dynamic_listeners;
  const l = listeners.find((x: any) => x.name === '0.0.0.0_8443');
  return l.active_state.listener.filter_chains[0].transport_socket.typed_config;
}
function firstCluster(d: Dump): Record<string, any> {
  const clusters = (d.configs.find((c) => String(c['@type']).endsWith('ClustersConfigDump')) as any).dynamic_active_clusters;
  return clusters.find((c: any) => c.cluster.transport_socket_matches || c.cluster.transport_socket).cluster;
}
function bootstrap(d: Dump): Record<string, any> {
  return (d.configs.find((c) => String(c['@type']).endsWith('BootstrapConfigDump')) as any).bootstrap;
}
const note = (text: string) => (b: EvidenceBundle): void => { b.run.notes.push(text); };
const logField = (field: string, value: string) => (b: EvidenceBundle): void => {
  const p = proxy(b, 'gateway');
  const first = p.accessLog[0];
  editAccessLog(p, (e) => { if (JSON.stringify(e) === JSON.stringify(JSON.parse(first))) e[field] = value; });
};
const echoHeader = (name: string, value: string, nested = false) => (b: EvidenceBundle): void => {
  const echo = nested ? b.requests[0].response!.upstream!.body! : b.requests[0].response!;
  echo.headers[name] = value;
};

/** `config`: planted in a config dump; after saving, the analysis is the healthy one (7/7 proven). */
interface Form { name: string; needle: string; plant: (b: EvidenceBundle) => void; config?: boolean }

const FORMS: Form[] = [
  // Envoy config dump: the allowlist of secrets and TLS contexts
  { config: true, name: 'generic_secret inline_string', needle: 'gs-value-0001-abcdef', plant: (b) => editDump(b, (d) => addSecret(d, 'kubernetes://api-token', { generic_secret: { secret: { inline_string: 'gs-value-0001-abcdef' } } })) },
  { config: true, name: 'generic_secret inline_bytes', needle: b64('gs-bytes-value-0002'), plant: (b) => editDump(b, (d) => addSecret(d, 'kubernetes://hmac', { generic_secret: { secret: { inline_bytes: b64('gs-bytes-value-0002') } } })) },
  { config: true, name: 'TLS password', needle: 'tls-pass-0003', plant: (b) => editDump(b, (d) => { credential(d).tls_certificate.password = { inline_string: 'tls-pass-0003' }; }) },
  { config: true, name: 'session_ticket_keys secret', needle: b64('ticket-key-0004-'.repeat(5)), plant: (b) => editDump(b, (d) => addSecret(d, 'kubernetes://tickets', { session_ticket_keys: { keys: [{ inline_bytes: b64('ticket-key-0004-'.repeat(5)) }] } })) },
  { config: true, name: 'session_ticket_keys in a listener TLS context', needle: b64('ticket-key-0005-'.repeat(5)), plant: (b) => editDump(b, (d) => { gatewayTls(d).session_ticket_keys = { keys: [{ inline_bytes: b64('ticket-key-0005-'.repeat(5)) }] }; }) },
  { config: true, name: 'private_key whose inline_bytes is not the first key', needle: b64('raw-key-material-0006'), plant: (b) => editDump(b, (d) => { credential(d).tls_certificate.private_key = { watched_directory: null, inline_bytes: b64('raw-key-material-0006') }; }) },
  {
    config: true, name: 'private_key with a unicode-escaped key name', needle: b64('raw-key-material-0007'),
    plant: (b) => {
      const a = proxy(b, 'gateway').admin.configDump!;
      const before = a.body;
      // the recorded credential's (already redacted) private_key, in whichever DataSource form the dump has
      const recorded = /"private_key":\{"inline_(?:bytes|string)":"[^"]*"\}/;
      expect(a.body).toMatch(recorded);
      a.body = a.body.replace(recorded, `"private\\u005fkey":{"inline\\u005fbytes":"${b64('raw-key-material-0007')}"}`);
      expect(a.body).not.toBe(before);
    },
  },
  // (the tainted chain is dropped whole, so the credential can no longer be compared: not `config`)
  { name: 'PEM key base64-encoded inside certificate_chain', needle: b64(ecKey).slice(0, 40), plant: (b) => editDump(b, (d) => {
    const tls = credential(d).tls_certificate;
    tls.certificate_chain = { inline_bytes: b64(ecKey + dataSourceText(tls.certificate_chain)) };
  }) },
  { config: true, name: 'PEM key base64-encoded inside generic_secret', needle: b64(pkcs8).slice(0, 40), plant: (b) => editDump(b, (d) => addSecret(d, 'kubernetes://wrapped', { generic_secret: { secret: { inline_bytes: b64(pkcs8) } } })) },
  { config: true, name: 'pkcs12 bundle', needle: b64('pkcs12-material-0010'), plant: (b) => editDump(b, (d) => { credential(d).tls_certificate.pkcs12 = { inline_bytes: b64('pkcs12-material-0010') }; }) },
  { config: true, name: 'raw PEM private_key in a listener tls_certificates', needle: body(rsaKey).slice(0, 40), plant: (b) => editDump(b, (d) => {
    gatewayTls(d).common_tls_context.tls_certificates = [{ certificate_chain: { filename: '/etc/certs/cert.pem' }, private_key: { inline_string: rsaKey } }];
  }) },
  { config: true, name: 'private_key in a cluster UpstreamTlsContext', needle: b64('cluster-key-0012'), plant: (b) => editDump(b, (d) => {
    firstCluster(d).transport_socket = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', common_tls_context: { tls_certificates: [{ private_key: { inline_bytes: b64('cluster-key-0012') } }] } } };
  }) },
  { config: true, name: 'private_key_provider config', needle: 'provider-secret-0013', plant: (b) => editDump(b, (d) => { credential(d).tls_certificate.private_key_provider = { provider_name: 'cryptomb', typed_config: { key: 'provider-secret-0013' } }; }) },
  { config: true, name: 'gRPC access_token call credential in the bootstrap', needle: 'opaque-access-token-0014', plant: (b) => editDump(b, (d) => {
    bootstrap(d).dynamic_resources = { ads_config: { grpc_services: [{ google_grpc: { call_credentials: [{ access_token: 'opaque-access-token-0014' }] } }] } };
  }) },
  { config: true, name: 'authorization initial_metadata in the bootstrap', needle: 'rawtoken0015xyz', plant: (b) => editDump(b, (d) => {
    bootstrap(d).dynamic_resources = { ads_config: { grpc_services: [{ initial_metadata: [{ key: 'authorization', value: 'rawtoken0015xyz' }] }] } };
  }) },
  // private keys anywhere as text
  { name: 'RSA PEM key in an access-log line', needle: body(rsaKey).slice(0, 40), plant: logField('note', rsaKey) },
  { name: 'EC PEM key in a note', needle: body(ecKey).slice(0, 40), plant: note(ecKey) },
  { name: 'PKCS#8 key in a capture error', needle: body(pkcs8).slice(0, 40), plant: (b) => { proxy(b, 'bff').errors.push({ endpoint: '/certs', phase: 'after', message: `unexpected body ${pkcs8}` }); } },
  { name: 'encrypted PKCS#8 key in an echoed header', needle: body(encKey).slice(0, 40), plant: echoHeader('x-debug-key', encKey) },
  { name: 'OpenSSH key in a note', needle: 'QyNTUxOQAAACDn0049ssh0049', plant: note(sshKey) },
  { name: 'PGP private key block in a note', needle: 'lQOYBGYpgp0021', plant: note(pgpKey) },
  { name: 'SSH2 private key in a note', needle: 'P2/56wAAAi4ssh2key0022', plant: note(ssh2Key) },
  { name: 'PuTTY private key in a note', needle: 'AAAAIputtyprivate0023', plant: note(puttyKey) },
  { name: 'PEM header split by a NUL in an access-log line', needle: body(pkcs8).slice(0, 40), plant: logField('note', pkcs8.replace('PRIVATE KEY-----', 'PRIVATE\u0000 KEY-----').replace('BEGIN PRIVATE', 'BEGIN\u0000 PRIVATE')) },
  { name: 'DSA key in a request error', needle: body(dsaKey).slice(0, 40), plant: (b) => { b.requests[0].error = `tls: ${dsaKey}`; } },
  // Kubernetes credentials
  { name: 'kubeconfig static token', needle: '7f3c9a1e5b2d4c6f8a0b', plant: note('users:\n- name: admin\n  user:\n    token: 7f3c9a1e5b2d4c6f8a0b') },
  { name: 'bootstrap token', needle: 'abcdef.0123456789abcdef', plant: note('kubeadm join 10.0.0.1:6443 --discovery-token-unsafe-skip-ca-verification abcdef.0123456789abcdef') },
  { name: 'EKS token', needle: 'k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8', plant: note('exec credential: k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklkZW50aXR5') },
  { name: 'GKE token', needle: 'ya29.a0AfH6SMBx0029gketoken', plant: note('gke-gcloud-auth-plugin: ya29.a0AfH6SMBx0029gketoken0029gketoken') },
  { name: 'client-key-data', needle: b64(ecKey).slice(0, 40), plant: note(`client-key-data: ${b64(ecKey)}`) },
  { name: 'kubeconfig password', needle: 'hunter2-0031', plant: note('users:\n- name: basic\n  user:\n    username: admin\n    password: hunter2-0031') },
  { name: 'user:password in the server URL', needle: 's3cr3t-0032', plant: (b) => { b.run.target.server = 'https://admin:s3cr3t-0032@api.example.test:6443'; } },
  // HTTP credentials in access logs and echoed headers
  { name: 'Basic authorization in an access-log line', needle: b64('user:pw-0033'), plant: logField('authorization', `Basic ${b64('user:pw-0033')}`) },
  { name: 'raw bearer token in an echoed authorization header', needle: 'rawtok-0034-abcdef', plant: echoHeader('authorization', 'rawtok-0034-abcdef') },
  { name: 'raw token in an access-log authorization field', needle: 'rawtok-0035-abcdef', plant: logField('authorization', 'rawtok-0035-abcdef') },
  { name: 'cookie in an echoed header', needle: 'sess-0036-abcdef', plant: echoHeader('cookie', 'session=sess-0036-abcdef') },
  { name: 'set-cookie in a nested echo', needle: 'sess-0037-abcdef', plant: echoHeader('set-cookie', 'sid=sess-0037-abcdef; HttpOnly', true) },
  { name: 'cookie in an access-log line', needle: 'sess-0038-abcdef', plant: logField('cookie', 'session=sess-0038-abcdef') },
  { name: 'x-api-key in an echoed header', needle: 'apikey-0039-abcdef', plant: echoHeader('x-api-key', 'apikey-0039-abcdef') },
  { name: 'x-api-key in an access-log line', needle: 'apikey-0040-abcdef', plant: logField('x-api-key', 'apikey-0040-abcdef') },
  { name: 'x-forwarded-access-token in an echoed header', needle: 'fwdtok-0041-abcdef', plant: echoHeader('x-forwarded-access-token', 'fwdtok-0041-abcdef', true) },
  { name: 'x-forwarded-access-token in an access-log line', needle: 'fwdtok-0042-abcdef', plant: logField('x_forwarded_access_token', 'fwdtok-0042-abcdef') },
  { name: 'JWT in a note', needle: 'eyJzdWIiOiJzeXN0ZW0wMDQzIn0', plant: note('service account token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0wMDQzIn0.c2lnbmF0dXJlMDA0Mw') },
  { name: 'bearer token in a capture error', needle: 'opaque0044bearer', plant: (b) => { proxy(b, 'svc').errors.push({ endpoint: '/stats', phase: 'before', message: 'retried with Authorization: Bearer opaque0044bearer' }); } },
  { name: 'GitHub token in a note', needle: 'ghp_0045ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef', plant: note('clone with ghp_0045ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef') },
  { name: 'Slack token in an access-log line', needle: 'xoxb-123456789012-1234567890123-0046AbCdEfGhIjKlMnOpQr', plant: logField('note', 'xoxb-123456789012-1234567890123-0046AbCdEfGhIjKlMnOpQr') },
  { name: 'AWS access key id in a note', needle: 'AKIA0047QWERTYUIOPAS', plant: note('aws configure: AKIA0047QWERTYUIOPAS') },
  { name: 'database connection string in a request error', needle: 'dbpass-0048', plant: (b) => { b.requests[0].error = 'upstream postgres://app:dbpass-0048@db.internal:5432/app refused'; } },
  { name: 'access_token query parameter in an access-log path', needle: 'opaque0049xyz', plant: logField('path', '/?access_token=opaque0049xyz') },
  { name: 'proxy-authorization in a nested echo', needle: 'proxytok-0050', plant: echoHeader('proxy-authorization', 'proxytok-0050', true) },
];

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'mv-secret-forms-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('section 3: 50 forms of a secret, each saved scrubbed and refused on load', () => {
  it('lists 50 distinct forms', () => {
    expect(FORMS).toHaveLength(50);
    expect(new Set(FORMS.map((f) => f.name)).size).toBe(50);
  });

  FORMS.forEach((form, i) => {
    it(`${i + 1}. ${form.name}`, async () => {
      // The stats-filtered recording: every part a form is planted in (dumps, secrets, logs, echoes,
      // notes), at a third of the healthy one's size (no ssl/cluster stats), since each form is saved and loaded twice.
      const b = loadFixture('stats-filtered');
      form.plant(b);
      const raw = JSON.stringify(b, null, 2);
      expect(raw.includes(form.needle) || raw.includes(JSON.stringify(form.needle).slice(1, -1))).toBe(true);

      // load: the unscrubbed bundle is refused with one line
      const leaky = join(dir, `leaky-${i}.json`);
      await writeFile(leaky, raw);
      const err = await loadBundle(leaky).then(() => null, (e: unknown) => e);
      expect(err, 'loadBundle accepted the bundle').toBeInstanceOf(MeshVerifyError);
      expect((err as MeshVerifyError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(/holds (a private key|a bearer token|a secret)/);
      expect((err as Error).message).not.toContain('\n');
      expect((err as Error).message).not.toContain(form.needle);

      // save: written without it, noted, and accepted on load
      const file = join(dir, `saved-${i}.json`);
      const saved = await saveBundle(file, b);
      expect(saved.redacted.length).toBeGreaterThan(0);
      const text = JSON.stringify(saved.bundle);
      expect(text).not.toContain(form.needle);
      expect(text).not.toContain(b64(form.needle));
      const back = await loadBundle(file);
      expect(back.run.notes.some((n) => n.startsWith('redacted '))).toBe(true);
      if (form.config) expect(Object.values(statuses(analyzeAtRun(back))).every((s) => s === 'proven')).toBe(true);
    });
  });

  it('the maintained rule set (secretlint) catches a vendor token our own rules do not know', async () => {
    const token = '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';
    const b = loadFixture('healthy');
    logField('note', `shop ${token}`)(b);
    expect(findSecrets(b)).toEqual([]);
    expect(await scanFreeText(b)).toEqual([{ pointer: '/proxies/0/accessLog/0', kind: 'credential', what: 'shopify (secretlint)' }]);
    const leaky = join(dir, 'shopify.json');
    await writeFile(leaky, JSON.stringify(b));
    await expect(loadBundle(leaky)).rejects.toThrow(/holds a secret \(shopify \(secretlint\)\) at \/proxies\/0\/accessLog\/0/);
    const saved = await saveBundle(join(dir, 'shopify-saved.json'), b);
    expect(JSON.stringify(saved.bundle)).not.toContain(token);
    expect(saved.bundle.proxies[0].accessLog[0]).toContain('"note":"shop [redacted]"');
  });

  it('the committed fixtures hold none of them and are saved unchanged', async () => {
    const b = loadFixture('healthy');
    const saved = await saveBundle(join(dir, 'healthy.json'), b);
    expect(saved.redacted).toEqual([]);
    expect(saved.bundle).toEqual(b);
  });
});
