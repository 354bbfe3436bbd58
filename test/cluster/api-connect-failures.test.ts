import net from 'node:net';
import https from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EnvironmentError } from '../../src/core/errors.js';
import { connectKube } from '../../src/cluster/kube-client.js';
import { setProcessRunner } from '../../src/cluster/process-runner.js';
import { createRootCa, issueCertificate } from '../../src/pki/ca.js';
import { runCli } from '../helpers/cli-in-process.js';
import { fakeRunner } from './fake-runner.js';
import { tempDir } from './lab-api.js';
import { realClusterMissing, startRealCluster } from '../helpers/real-cluster.js';

/**
 * What a first-time user met (issue 9, D8): a kubeconfig whose CA is not the cluster's said
 * "unreachable". Node's TLS client names each failure by code (UNABLE_TO_VERIFY_LEAF_SIGNATURE,
 * ERR_TLS_CERT_ALTNAME_INVALID, ERR_SSL_WRONG_VERSION_NUMBER from OpenSSL's "wrong version
 * number" record error); each one gets its own line and fix. Real servers on 127.0.0.1 only: the
 * real kube-apiserver for the wrong CA; small test-local servers for what a real apiserver cannot
 * be made to do (a certificate for another host, plain HTTP, Go's answer to HTTP on a TLS port).
 */
describe('connecting to the API server: each TLS failure has its own message', () => {
  const tmp = tempDir();
  const closers: (() => Promise<void> | void)[] = [];
  afterAll(async () => { for (const c of closers) await c(); tmp.remove(); });

  function kubeconfig(name: string, server: string, cluster: Record<string, unknown>): string {
    const file = join(tmp.dir, name);
    writeFileSync(file, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': name,
      clusters: [{ name, cluster: { server, ...cluster } }], users: [{ name, user: { token: 't' } }],
      contexts: [{ name, context: { cluster: name, user: name } }],
    }));
    return file;
  }
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  async function failure(file: string): Promise<EnvironmentError> {
    const err = await connectKube({ kubeconfig: file, timeoutMs: 5000 }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).not.toContain('\n');
    return err as EnvironmentError;
  }

  it.skipIf(realClusterMissing !== null)('a CA that is not the cluster\'s (the real kube-apiserver): "certificate not trusted", not "unreachable"', async () => {
    const c = await startRealCluster();
    closers.push(() => c.stop());
    const other = await createRootCa('some other cluster CA');
    const e = await failure(kubeconfig('wrong-ca', c.cp.server, { 'certificate-authority-data': b64(other.certPem) }));
    expect(e.message).toBe(`Kubernetes API ${c.cp.server} (context wrong-ca): certificate not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE): the server's certificate does not chain to the certificate-authority of the kubeconfig`);
    expect(e.message).not.toContain('unreachable');
    expect(e.fix).toContain('kind get kubeconfig');
  }, 120_000);

  it('a certificate for another host name', async () => {
    const ca = await createRootCa('api ca');
    const cert = await issueCertificate(ca, { commonName: 'kube-apiserver', dnsSans: ['kubernetes.default.svc'], serverAuth: true, clientAuth: false });
    const server = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (_q, r) => { r.end('{}'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const e = await failure(kubeconfig('wrong-host', url, { 'certificate-authority-data': b64(ca.certPem) }));
    expect(e.message).toMatch(/^Kubernetes API https:\/\/127\.0\.0\.1:\d+ \(context wrong-host\): the server's certificate is not valid for host 127\.0\.0\.1 \(IP: 127\.0\.0\.1 is not in the cert's list/);
    expect(e.fix).toContain('tls-server-name');
  });

  it('plain HTTP on the https:// port', async () => {
    const server = net.createServer((s) => { s.on('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')); s.on('error', () => {}); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const e = await failure(kubeconfig('plain-http', url, { 'insecure-skip-tls-verify': true }));
    expect(e.message).toBe(`Kubernetes API ${url} (context plain-http): the server does not speak TLS on this port (plain HTTP on an https:// URL?)`);
  });

  it("an http:// URL to a TLS port: Go's net/http answers 400 \"Client sent an HTTP request to an HTTPS server.\"", async () => {
    // The exact answer of Go's net/http server (src/net/http/server.go, (c *conn).serve) to a plain request on a TLS listener.
    const server = net.createServer((s) => { s.on('data', () => s.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n')); s.on('error', () => {}); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const e = await failure(kubeconfig('http-to-https', url, { 'insecure-skip-tls-verify': true }));
    expect(e.message).toBe(`Kubernetes API ${url} speaks HTTPS, but the kubeconfig's server URL says http://`);
  });

  it('a closed port is still "unreachable"', async () => {
    const e = await failure(kubeconfig('closed', 'https://127.0.0.1:1', {}));
    expect(e.message).toMatch(/^Kubernetes API https:\/\/127\.0\.0\.1:1 \(context closed\) is unreachable: .*ECONNREFUSED/);
  });
});

describe('the Docker preflight error (no Docker: kind cannot run)', () => {
  let restore: (() => void) | null = null;
  afterEach(() => { restore?.(); restore = null; });

  it('offers --lab, and is printed once without -q', async () => {
    restore = setProcessRunner(fakeRunner({ 'docker info': { code: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' } }).runner);
    const r = await runCli('path');
    expect(r.status).toBe(4);
    expect(r.stderr.split('Docker is not running')).toHaveLength(2);
    expect(r.stderr).toContain('mesh-verify: Docker is not running (docker info: Cannot connect to the Docker daemon');
    expect(r.stderr).toContain('--lab');
    expect(r.stderr).toMatch(/preflight checks failed/);
  });
});
