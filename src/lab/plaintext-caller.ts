import http from 'node:http';
import type { Duplex } from 'node:stream';
import { APP_PORT, SVC_WORKLOAD, serviceFqdn } from '../topology/reference.js';

/**
 * A workload without a sidecar (fault permissive-svc) that calls svc in plaintext. It tries to
 * forge an XFCC header; a real sidecar removes it because the connection carries no client cert.
 */
export const FORGED_XFCC = 'By=spiffe://cluster.local/ns/mesh-verify/sa/svc;URI=spiffe://cluster.local/ns/mesh-verify/sa/forged';

export class PlaintextCaller {
  readonly log: string[] = [];
  private seq = 0;

  /** `target`: where svc's pod is, and the connection from the caller's own pod (a relay in its sandbox). */
  constructor(private readonly target: () => Promise<{ host: string; port: number; createConnection: () => Duplex }>, public podName: string) {}

  /** One plaintext GET to svc's inbound port; resolves when the answer (or an error) is in. */
  call(): Promise<void> {
    this.seq += 1;
    const requestId = `plaintext-caller-${this.seq}`;
    const log = (entry: Record<string, unknown>) => this.log.push(JSON.stringify({ app: 'legacy-client', pod: this.podName, requestId, ...entry }));
    return this.target().then((target) => new Promise<void>((resolve) => {
      const req = http.request({
        ...target,
        path: '/from-plaintext-caller',
        headers: { host: `${serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace)}:${APP_PORT}`, 'x-request-id': requestId, 'x-forwarded-client-cert': FORGED_XFCC },
        timeout: 5000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          log({ status: res.statusCode, answer: Buffer.concat(chunks).toString('utf8').slice(0, 2000) });
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        log({ status: null, error: err.message });
        resolve();
      });
      req.end();
    }), (err: Error) => { log({ status: null, error: err.message }); });
  }
}
