import https from 'node:https';

export interface WaitEntryOptions {
  address: string;
  port: number;
  host: string;
  /** Overall bound (default 60 s). */
  timeoutMs?: number;
  pollMs?: number;
  /** Path the bff app answers without calling svc. */
  path?: string;
  onRetry?: (why: string) => void;
}

/**
 * Wait until the path answers through the entry: a TLS handshake with SNI = host (any
 * certificate: a wrong one is evidence for the probe, not a reason to wait) and an HTTP answer
 * for `path` that shows the gateway has its route: 200, or a 5xx other than Envoy's
 * "no healthy upstream" (a broken hop, e.g. plaintext to a STRICT sidecar, answers 503 for good,
 * and is evidence too). 404 (no route yet) and connection errors are waited out.
 * Returns null when it answered, else the last reason; never throws.
 */
export async function waitForEntry(opts: WaitEntryOptions): Promise<string | null> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last = 'not tried';
  for (;;) {
    last = await tryOnce(opts);
    if (last === '') return null;
    if (Date.now() + (opts.pollMs ?? 1000) > deadline) return last;
    opts.onRetry?.(last);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}

function tryOnce(opts: WaitEntryOptions): Promise<string> {
  return new Promise((resolve) => {
    const req = https.request({
      host: opts.address, port: opts.port, servername: opts.host, path: opts.path ?? '/healthz', method: 'GET',
      headers: { host: opts.host, 'user-agent': 'mesh-verify (readiness)' }, rejectUnauthorized: false, agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { if (chunks.length < 8) chunks.push(c); });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8').slice(0, 200);
        const routed = status === 200 || (status >= 500 && !/no healthy upstream/i.test(body));
        resolve(routed ? '' : `HTTP ${status} from ${opts.address}:${opts.port}${body ? `: ${body.trim().split('\n')[0]}` : ''}`);
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (err) => resolve(`${opts.address}:${opts.port}: ${err.message}`));
    req.end();
  });
}
