import { describe, expect, it } from 'vitest';
import tls from 'node:tls';
import { connect } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startLab } from '../../src/lab/lab.js';
import { PUBLIC_HOST } from '../../src/topology/reference.js';
import { ownListeningPorts } from '../helpers/own-listeners.js';

function handshake(host: string, port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ host, port, servername: PUBLIC_HOST, ca }, () => { s.end(); resolve(s.authorized); });
    s.on('error', () => resolve(false));
  });
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
}

/** Live child processes of this process (Linux /proc): the lab's Envoys and apps. */
function children(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z') out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

const handles = () => process.getActiveResourcesInfo().filter((r) => /TCP|Timeout|Pipe/.test(r)).length;

describe('the whole lab (real Envoy data plane + Kubernetes API double)', () => {
  it.skipIf(ownListeningPorts() === null)('starts and stops 5 times in a row, used each time, leaving no process, listening port, handle or file (needs Linux /proc)', async () => {
    const before = handles();
    const childrenBefore = children();
    const seen = new Set<number>();
    const endpoints: [string, number][] = [];
    for (let i = 0; i < 5; i++) {
      const lab = await startLab({ fault: i % 4 === 1 ? 'permissive-svc' : null });
      const kc = new KubeConfig();
      kc.loadFromFile(lab.kubeconfigPath);
      const pods = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      expect(pods.items.length).toBeGreaterThanOrEqual(4);
      expect(await handshake(lab.nlb.host, lab.nlb.port, lab.externalCaPem)).toBe(true);
      // 4 Envoys (NLB, gateway, bff, svc) and 2 apps run as child processes.
      expect(children().length - childrenBefore.length).toBe(6);
      const api = Number(new URL(lab.apiServerUrl).port);
      expect(ownListeningPorts()!.has(api)).toBe(true);
      seen.add(api);
      endpoints.push([lab.nlb.host, lab.nlb.port], ...lab.pods().flatMap((p) => Object.values(p.ports).map((port): [string, number] => [p.host ?? '127.0.0.1', port])));
      const file = lab.kubeconfigPath;
      await lab.stop();
      expect(existsSync(file)).toBe(false);
      expect(children()).toEqual(childrenBefore);
    }
    const still = ownListeningPorts()!;
    expect([...seen].filter((p) => still.has(p))).toEqual([]);
    for (const [h, p] of endpoints) expect(await refused(h, p), `${h}:${p}`).toBe(true);
    const end = Date.now() + 2_000;
    while (handles() > before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(handles()).toBeLessThanOrEqual(before);
  });
});
