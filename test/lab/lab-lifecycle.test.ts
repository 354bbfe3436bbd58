import { describe, expect, it } from 'vitest';
import tls from 'node:tls';
import { existsSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startLab } from '../../src/lab/lab.js';
import { PUBLIC_HOST } from '../../src/topology/reference.js';
import { ownListeningPorts } from '../helpers/own-listeners.js';

function handshake(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: PUBLIC_HOST, ca }, () => { s.end(); resolve(s.authorized); });
    s.on('error', () => resolve(false));
  });
}

const handles = () => process.getActiveResourcesInfo().filter((r) => /TCP|Timeout|Pipe/.test(r)).length;

describe('the whole lab (real data plane + Kubernetes API double)', () => {
  it.skipIf(ownListeningPorts() === null)('starts and stops 20 times in a row, used each time, leaving no listening port, handle or file (needs Linux /proc)', async () => {
    const before = handles();
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const lab = await startLab({ fault: i % 4 === 1 ? 'permissive-svc' : null });
      const kc = new KubeConfig();
      kc.loadFromFile(lab.kubeconfigPath);
      const pods = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      expect(pods.items.length).toBeGreaterThanOrEqual(4);
      expect(await handshake(lab.nlb.port, lab.externalCaPem)).toBe(true);
      const mine = ownListeningPorts()!;
      const labPorts = [lab.nlb.port, Number(new URL(lab.apiServerUrl).port), ...lab.pods().flatMap((p) => Object.values(p.ports))];
      for (const p of labPorts) { expect(mine.has(p)).toBe(true); seen.add(p); }
      const file = lab.kubeconfigPath;
      await lab.stop();
      expect(existsSync(file)).toBe(false);
    }
    const still = ownListeningPorts()!;
    expect([...seen].filter((p) => still.has(p))).toEqual([]);
    const end = Date.now() + 2_000;
    while (handles() > before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(handles()).toBeLessThanOrEqual(before);
  });
});
