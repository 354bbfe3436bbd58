import https from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface WaitEntryOptions {
  address: string;
  port: number;
  host: string;
  /** Overall bound (default 60 s). */
  timeoutMs?: number;
  pollMs?: number;
  /** Path the bff app answers without calling svc. */
  path?: string;
  /**
   * SHA-256 (hex, no colons) of the leaf the gateway must serve: after a new credential is
   * stored, Istio's SDS pushes it to the gateway some time later, and until then the old one is
   * served. Waited for like the route; a never-matching leaf is reported in `leaf`.
   */
  expectLeafSha256?: string | null;
  onRetry?: (why: string, elapsedMs: number) => void;
}

export interface WaitEntryResult {
  /** null when the path answered (and served the expected leaf), else the last reason. */
  notReady: string | null;
  /** The leaf served at the last try (sha256 hex and subject), when a handshake completed. */
  servedLeaf: { sha256: string; subject: string } | null;
  /** An expected leaf was given and the gateway never served it. */
  leafMismatch: boolean;
}

/**
 * Wait until the path answers through the entry: a TLS handshake with SNI = host (any
 * certificate: a wrong one is evidence for the probe, not a reason to wait) and an HTTP answer
 * for `path` that shows the gateway has its route: 200, or a 5xx other than Envoy's
 * "no healthy upstream" (a broken hop, e.g. plaintext to a STRICT sidecar, answers 503 for good,
 * and is evidence too). 404 (no route yet) and connection errors are waited out.
 * With `expectLeafSha256`, it also waits until the served leaf is that one. Never throws.
 */
export async function waitForEntry(opts: WaitEntryOptions): Promise<WaitEntryResult> {
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const { why, leaf } = await tryOnce(opts);
    const leafMismatch = !!opts.expectLeafSha256 && leaf !== null && leaf.sha256 !== opts.expectLeafSha256;
    const last = why || (leafMismatch
      ? `the gateway serves certificate sha256 ${leaf!.sha256.slice(0, 16)}... (${leaf!.subject}), not this run's ${opts.expectLeafSha256!.slice(0, 16)}... (not pushed to it yet)`
      : '');
    if (last === '') return { notReady: null, servedLeaf: leaf, leafMismatch: false };
    if (Date.now() + (opts.pollMs ?? 1000) > deadline) return { notReady: last, servedLeaf: leaf, leafMismatch };
    opts.onRetry?.(last, Date.now() - started);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}

function tryOnce(opts: WaitEntryOptions): Promise<{ why: string; leaf: WaitEntryResult['servedLeaf'] }> {
  return new Promise((resolve) => {
    const req = https.request({
      host: opts.address, port: opts.port, servername: opts.host, path: opts.path ?? '/healthz', method: 'GET',
      headers: { host: opts.host, 'user-agent': 'mesh-verify (readiness)' }, rejectUnauthorized: false, agent: false,
    }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerCertificate?.();
      const leaf = peer && peer.fingerprint256 ? { sha256: peer.fingerprint256.replace(/:/g, '').toLowerCase(), subject: peer.subject?.CN ? `CN=${peer.subject.CN}` : 'no CN' } : null;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { if (chunks.length < 8) chunks.push(c); });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8').slice(0, 200);
        const routed = status === 200 || (status >= 500 && !/no healthy upstream/i.test(body));
        resolve({ leaf, why: routed ? '' : `HTTP ${status} from ${opts.address}:${opts.port}${body ? `: ${body.trim().split('\n')[0]}` : ''}` });
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (err) => resolve({ leaf: null, why: `${opts.address}:${opts.port}: ${err.message}` }));
    req.end();
  });
}
