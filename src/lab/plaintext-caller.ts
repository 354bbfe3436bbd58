import http from 'node:http';
import { APP_PORT, SVC_WORKLOAD, serviceFqdn } from '../topology/reference.js';

/**
 * A workload without a sidecar (fault permissive-svc) that calls svc in plaintext. It tries to
 * forge an XFCC header; a real sidecar removes it because the connection carries no client cert.
 */
export const FORGED_XFCC = 'By=spiffe://cluster.local/ns/mesh-verify/sa/svc;URI=spiffe://cluster.local/ns/mesh-verify/sa/forged';

export class PlaintextCaller {
  readonly log: string[] = [];
  private seq = 0;
  private readonly agent = new http.Agent({ keepAlive: false });

  constructor(private readonly target: () => { host: string; port: number; localAddress?: string }, public podName: string) {}

  /** One plaintext GET to svc's inbound port; resolves when the answer (or an error) is in. */
  call(): Promise<void> {
    this.seq += 1;
    const requestId = `plaintext-caller-${this.seq}`;
    return new Promise((resolve) => {
      const req = http.request({
        ...this.target(),
        path: '/from-plaintext-caller',
        agent: this.agent,
        headers: { host: `${serviceFqdn(SVC_WORKLOAD.name, SVC_WORKLOAD.namespace)}:${APP_PORT}`, 'x-request-id': requestId, 'x-forwarded-client-cert': FORGED_XFCC },
        timeout: 5000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          this.log.push(JSON.stringify({ app: 'legacy-client', pod: this.podName, requestId, status: res.statusCode, answer: Buffer.concat(chunks).toString('utf8').slice(0, 2000) }));
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        this.log.push(JSON.stringify({ app: 'legacy-client', pod: this.podName, requestId, status: null, error: err.message }));
        resolve();
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
