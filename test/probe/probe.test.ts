import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { certSha256Hex, createRootCa, issueCertificate, type Authority, type IssuedCert } from '../../src/pki/ca.js';
import { runProbe, requestIdFor } from '../../src/probe/probe.js';
import { parseAppEcho } from '../../src/probe/app-echo.js';
import { appEcho as echo, startServer } from './tls-echo-server.js';
import { opensslHasMlKem } from '../helpers/pq-client-node.js';

const HOST = 'web.probe.test';


let ca: Authority;
let other: Authority;
let serverCert: IssuedCert;
let srv: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  ca = await createRootCa('external test CA');
  other = await createRootCa('someone else');
  serverCert = await issueCertificate(ca, { commonName: HOST, dnsSans: [HOST] });
  srv = await startServer(serverCert, echo);
});
afterAll(async () => { await srv.close(); });

describe('runProbe', () => {
  it('sends N requests with their own ids over one kept-alive TLS connection, with SNI and Host', async () => {
    const before = { ids: srv.seen.ids.length, conns: srv.seen.connections };
    const r = await runProbe({ address: '127.0.0.1', port: srv.port, host: HOST, caPem: ca.certPem, runId: 'r1', requests: 3 });
    expect(r.requests.map((q) => q.id)).toEqual(['mv-r1-1', 'mv-r1-2', 'mv-r1-3']);
    expect(srv.seen.ids.slice(before.ids)).toEqual(['mv-r1-1', 'mv-r1-2', 'mv-r1-3']);
    expect(srv.seen.hosts.slice(before.ids)).toEqual([HOST, HOST, HOST]);
    expect(srv.seen.snis.slice(before.ids)).toEqual([HOST, HOST, HOST]);
    expect(srv.seen.connections - before.conns).toBe(1);
    expect(r.requests.map((q) => q.reusedConnection)).toEqual([false, true, true]);
    expect(r.requests.every((q) => q.status === 200 && q.error === null)).toBe(true);
    expect(r.requests[1].response?.requestId).toBe('mv-r1-2');
    expect(r.requests[1].response?.upstream?.body?.service).toBe('svc');
  });

  it('sends its id as x-mesh-verify-id too, and records the x-request-id each app saw (the gateway replaced it)', async () => {
    // What the reference app answers behind Istio's gateway, which gives every external request a
    // new x-request-id (Envoy >= 1.33, use_remote_address true; envoy source/common/http/conn_manager_utility.cc).
    const replaced = (id: string) => `7f1c2a9e-0b1d-4e5f-9a8b-${createHash('sha256').update(id).digest('hex').slice(0, 12)}`;
    const gw = await startServer(serverCert, (id) => JSON.stringify({
      service: 'bff', pod: 'bff-1', requestId: replaced(id), meshVerifyId: id, method: 'GET', path: '/', headers: { 'x-request-id': replaced(id), 'x-mesh-verify-id': id },
      upstream: { url: 'http://svc:8080/', status: 200, error: null, body: { service: 'svc', pod: 'svc-1', requestId: replaced(id), meshVerifyId: id, method: 'GET', path: '/', headers: {} } },
    }));
    try {
      const r = await runProbe({ address: '127.0.0.1', port: gw.port, host: HOST, caPem: ca.certPem, runId: 'rid', requests: 2 });
      expect(gw.seen.meshVerifyIds).toEqual(['mv-rid-1', 'mv-rid-2']);
      expect(gw.seen.ids).toEqual(['mv-rid-1', 'mv-rid-2']);
      expect(r.requests[0].requestIds).toEqual({
        sent: 'mv-rid-1',
        seen: [
          { at: 'bff', source: 'app_echo', requestId: replaced('mv-rid-1') },
          { at: 'svc', source: 'app_echo', requestId: replaced('mv-rid-1') },
        ],
      });
    } finally {
      await gw.close();
    }
  });

  it('records the handshake: version, ALPN, cipher, the chain leaf first, and that it verified', async () => {
    const r = await runProbe({ address: '127.0.0.1', port: srv.port, host: HOST, caPem: ca.certPem, runId: 'r2', requests: 1 });
    expect(r.client.authorized).toBe(true);
    expect(r.client.authorizationError).toBeNull();
    expect(r.client.tlsVersion).toBe('TLSv1.3');
    expect(r.client.alpn).toBe('http/1.1');
    expect(r.client.cipher).toMatch(/^TLS_/);
    expect(r.client.sni).toBe(HOST);
    expect(r.client.connectedTo).toEqual({ address: '127.0.0.1', port: srv.port });
    const leaf = r.client.peerChain[0];
    expect(leaf.fingerprint256).toBe(certSha256Hex(serverCert.certPem));
    expect(leaf.dnsSans).toEqual([HOST]);
    expect(leaf.subject).toContain(HOST);
    expect(leaf.issuer).toContain('external test CA');
    expect(leaf.pem).toContain('BEGIN CERTIFICATE');
    expect(new Date(leaf.notAfter).getTime()).toBe(serverCert.notAfter.getTime() - (serverCert.notAfter.getTime() % 1000));
  });

  it('opens one connection per request with freshConnections', async () => {
    const before = srv.seen.connections;
    const r = await runProbe({ address: '127.0.0.1', port: srv.port, host: HOST, caPem: ca.certPem, runId: 'r3', requests: 3, freshConnections: true });
    expect(srv.seen.connections - before).toBe(3);
    expect(r.requests.map((q) => q.reusedConnection)).toEqual([false, false, false]);
    expect(r.requests.every((q) => q.status === 200)).toBe(true);
  });

  it('records, without aborting, a chain from another CA', async () => {
    const r = await runProbe({ address: '127.0.0.1', port: srv.port, host: HOST, caPem: other.certPem, runId: 'r4', requests: 2 });
    expect(r.client.authorized).toBe(false);
    expect(r.client.authorizationError).toMatch(/^UNABLE_TO_VERIFY_LEAF_SIGNATURE: .*trusted CA/);
    expect(r.client.peerChain[0].fingerprint256).toBe(certSha256Hex(serverCert.certPem));
    expect(r.requests.map((q) => q.status)).toEqual([200, 200]);
  });

  it('records a certificate for another host name as not authorized', async () => {
    const wrong = await issueCertificate(ca, { commonName: 'elsewhere.test', dnsSans: ['elsewhere.test'] });
    const s2 = await startServer(wrong, echo);
    try {
      const r = await runProbe({ address: '127.0.0.1', port: s2.port, host: HOST, caPem: ca.certPem, runId: 'r5', requests: 1 });
      expect(r.client.authorized).toBe(false);
      expect(r.client.authorizationError).toMatch(/^ERR_TLS_CERT_ALTNAME_INVALID: .*elsewhere\.test/);
      expect(r.client.peerChain[0].dnsSans).toEqual(['elsewhere.test']);
    } finally {
      await s2.close();
    }
  });

  it('describes a leaf with an empty subject (as Istio issues them) by its SANs', async () => {
    const spiffe = await issueCertificate(ca, { dnsSans: [HOST], uriSans: ['spiffe://cluster.local/ns/istio-system/sa/gw'] });
    const s4 = await startServer(spiffe, echo);
    try {
      const r = await runProbe({ address: '127.0.0.1', port: s4.port, host: HOST, caPem: ca.certPem, runId: 'r8', requests: 1 });
      expect(r.client.peerChain[0].subject).toBe('');
      expect(r.client.peerChain[0].uriSans).toEqual(['spiffe://cluster.local/ns/istio-system/sa/gw']);
      expect(r.requests[0].error).toBeNull();
    } finally {
      await s4.close();
    }
  });

  it('records a non-JSON answer as an error on that request', async () => {
    const s3 = await startServer(serverCert, () => 'upstream connect error or disconnect/reset before headers');
    try {
      const r = await runProbe({ address: '127.0.0.1', port: s3.port, host: HOST, caPem: ca.certPem, runId: 'r6', requests: 1 });
      expect(r.requests[0].status).toBe(200);
      expect(r.requests[0].response).toBeNull();
      expect(r.requests[0].error).toMatch(/not the app's JSON answer: upstream connect error/);
    } finally {
      await s3.close();
    }
  });

  it('turns a refused connection into recorded errors, not an exception', async () => {
    const port = await freePort();
    const r = await runProbe({ address: '127.0.0.1', port, host: HOST, caPem: ca.certPem, runId: 'r7', requests: 2 });
    expect(r.client.error).toBe(`connection to 127.0.0.1:${port} refused`);
    expect(r.client.peerChain).toEqual([]);
    expect(r.requests.map((q) => [q.status, q.error])).toEqual([[null, r.client.error], [null, r.client.error]]);
  });

  it('offers only the groups and suites it is given (--tls-groups / --tls-ciphers), and records the group negotiated', async () => {
    const plain = await runProbe({ address: '127.0.0.1', port: srv.port, host: HOST, caPem: ca.certPem, runId: 'g0', requests: 1 });
    // node:tls's default offer: X25519 first, or the X25519MLKEM768 hybrid first from OpenSSL 3.5 (Node 24).
    expect(plain.client.group).toBe(opensslHasMlKem() ? 'X25519MLKEM768' : 'X25519');
    const p384 = await runProbe({ address: '127.0.0.1', port: srv.port, host: HOST, caPem: ca.certPem, runId: 'g1', requests: 1, offer: { groups: ['P-384'], ciphers: ['TLS_AES_256_GCM_SHA384'] } });
    expect([p384.client.group, p384.client.cipher, p384.client.tlsVersion]).toEqual(['secp384r1', 'TLS_AES_256_GCM_SHA384', 'TLSv1.3']);
    const tls12 = await runProbe({ address: '127.0.0.1', port: srv.port, host: HOST, caPem: ca.certPem, runId: 'g2', requests: 1, offer: { groups: ['P-256'], ciphers: ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'] } });
    expect(tls12.client.group).toBe('prime256v1');
    // node:tls keeps its default TLS 1.3 suites when the list names none (README: --tls-ciphers).
    expect(tls12.client.cipher).toMatch(/^TLS_AES_(128|256)_GCM_SHA(256|384)$/);
  });

  it('names request ids after the run', () => {
    expect(requestIdFor('abc', 7)).toBe('mv-abc-7');
  });
});

describe('parseAppEcho', () => {
  it('accepts the app answer and rejects other JSON', () => {
    expect(parseAppEcho(echo('x'))?.requestId).toBe('x');
    expect(parseAppEcho('{"service":"bff"}')).toBeNull();
    expect(parseAppEcho('[1]')).toBeNull();
    expect(parseAppEcho('not json')).toBeNull();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
}
