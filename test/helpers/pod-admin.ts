import { request } from 'node:http';
import { relayConnection } from '../../src/lab/pod-network.js';
import type { LabPod } from '../../src/lab/types.js';

/**
 * GET on a lab pod's Envoy admin (127.0.0.1:15000 inside the pod's network namespace), through the
 * same relay kwok's PortForward runs for it (LabPod.forward), as a port-forward would reach it.
 */
export function podAdmin(pod: LabPod, path: string): Promise<string> {
  const command = pod.forward?.(15000) ?? [];
  if (command.length === 0) return Promise.reject(new Error(`pod ${pod.name} has no sandbox to reach its admin in`));
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: 15000, path,
      createConnection: () => relayConnection(command) as never,
    }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
