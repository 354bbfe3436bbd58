import http from 'node:http';
import https from 'node:https';
import type { PeerCertificate } from 'node:tls';
import type { DataPlane } from '../../../src/lab/dataplane/index.js';
import type { LabPod } from '../../../src/lab/types.js';

export interface ProbeAnswer {
  status: number;
  body: string;
  json: any;
  peerCertificate: PeerCertificate;
}

/**
 * An external client: HTTPS through the NLB, SNI and Host PUBLIC_HOST, trusting the external CA.
 * Sends `requestId` as x-mesh-verify-id and as x-request-id (as the probe does).
 */
export function probe(plane: DataPlane, requestId: string, opts: { trust?: 'external' | 'none' } = {}): Promise<ProbeAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.get({
      host: plane.nlb.host,
      port: plane.nlb.port,
      path: `/probe/${requestId}`,
      servername: plane.publicHost,
      ca: plane.externalCaPem,
      rejectUnauthorized: opts.trust !== 'none',
      headers: { host: plane.publicHost, 'x-mesh-verify-id': requestId, 'x-request-id': requestId },
      agent: false,
    }, (res) => {
      const peerCertificate = (res.socket as import('node:tls').TLSSocket).getPeerCertificate(false);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let json: unknown = null;
        try { json = JSON.parse(body); } catch { json = null; }
        resolve({ status: res.statusCode ?? 0, body, json, peerCertificate });
      });
    });
    req.on('error', reject);
  });
}

/** GET on a proxy's admin port (what a port-forward to 15000 reaches). */
export function admin(pod: LabPod, path: string): Promise<string> {
  const port = pod.ports[15000];
  if (!port) throw new Error(`${pod.name} has no admin port`);
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: HTTP ${res.statusCode}: ${body}`))));
    }).on('error', reject);
  });
}

export function pod(plane: DataPlane, app: string): LabPod {
  const p = plane.pods().find((x) => x.app === app);
  if (!p) throw new Error(`no pod for app ${app}`);
  return p;
}

export const GATEWAY_APP = 'istio-ingressgateway';
