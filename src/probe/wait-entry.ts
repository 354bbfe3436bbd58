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
 * certificate: a wrong one is evidence for the probe, not a reason to wait) and an HTTP 200 for
 * `path` (the gateway has its route and bff is up). Returns null when it answered, else the last
 * reason; never throws, since the probe records what goes wrong.
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
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? '' : `HTTP ${res.statusCode} from ${opts.address}:${opts.port}`));
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (err) => resolve(`${opts.address}:${opts.port}: ${err.message}`));
    req.end();
  });
}
