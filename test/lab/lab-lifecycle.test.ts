import { describe, expect, it } from 'vitest';
import tls from 'node:tls';
import { connect } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startLab } from '../../src/lab/lab.js';
import { PUBLIC_HOST } from '../../src/topology/reference.js';
import { tmpdir } from 'node:os';

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

/**
 * Live child processes of this process (Linux /proc): the lab's control plane, Envoys and apps, as
 * "pid name". Not the short-lived helpers the lab starts as it works (nsenter, then socat, as a
 * port-forward's relay for its own admin reads and its legacy caller; ip and iptables-restore as a
 * pod's sandbox is made): those are counted by settled() below.
 */
const HELPERS = /^(socat|nsenter|ip|iptables-restore|setpriv)$/;
const nameOf = (child: string) => child.slice(child.indexOf(' ') + 1);
function children(withHelpers = false): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // Node 24 names its main thread, hence the process's comm, "MainThread": its argv[0] says node.
      const name = comm === 'MainThread' ? basename(readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0]!) : comm;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z' && (withHelpers || !HELPERS.test(name))) out.push(`${d} ${name}`);
    } catch { /* gone */ }
  }
  return out.sort();
}

/** The children once no helper runs (bounded: 5 s), so that a helper that never ends is seen too. */
async function settled(): Promise<string[]> {
  const end = Date.now() + 5_000;
  let all = children(true);
  while (all.some((c) => HELPERS.test(nameOf(c))) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    all = children(true);
  }
  return all;
}

/** How many of each long-running process: { envoy: 4, etcd: 1, ... } (comm names are cut at 15 characters). */
const byName = (list: string[]) => list.reduce<Record<string, number>>((m, l) => { m[nameOf(l)] = (m[nameOf(l)] ?? 0) + 1; return m; }, {});

const handles = () => process.getActiveResourcesInfo().filter((r) => /TCP|Timeout|Pipe/.test(r)).length;

/**
 * The lab's temporary directories (control plane, Envoys, apps) go under TMPDIR: a directory of
 * this file's own, so that labs other test files run meanwhile are not counted.
 */
const ownTmp = mkdtempSync(join(tmpdir(), 'mv-lifecycle-'));
const labDirs = () => readdirSync(ownTmp).sort();

describe('the whole lab (real Kubernetes control plane, real Envoy data plane)', () => {
  it('starts and stops 10 times in a row, used each time, leaving no process, network namespace, bridge, listening port, handle or directory (needs Linux /proc)', async () => {
    const before = handles();
    const childrenBefore = await settled();
    const tmpBefore = process.env.TMPDIR;
    process.env.TMPDIR = ownTmp;
    const dirsBefore = labDirs();
    for (let i = 0; i < 10; i++) {
      const lab = await startLab({ fault: i % 4 === 1 ? 'permissive-svc' : null });
      try {
      const kc = new KubeConfig();
      kc.loadFromFile(lab.kubeconfigPath);
      const pods = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      expect(pods.items.length).toBeGreaterThanOrEqual(4);
      expect(await handshake(lab.nlb.host, lab.nlb.port, lab.externalCaPem)).toBe(true);
      // etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok; 4 Envoys (NLB, gateway, bff, svc) and 2 apps.
      const now = await settled();
      const started = now.filter((c) => !childrenBefore.includes(c));
      expect(byName(started), started.join(', ')).toEqual({
        etcd: 1, 'kube-apiserver': 1, 'kube-controller': 1, 'kube-scheduler': 1, kwok: 1, envoy: 4, node: 2,
      });
      const api = new URL(lab.apiServerUrl);
      // The node's loopback endpoints (the pods' IPs go with their namespaces and bridge, checked below:
      // once those are gone, traffic to a pod IP would leave this machine).
      const endpoints: [string, number][] = [[api.hostname, Number(api.port)], [lab.nlb.host, lab.nlb.port]];
      // Each pod's network namespace, and the bridge between them.
      const net = lab.podNetwork!()!;
      const namespaces = Object.values(net.netns);
      expect(namespaces.length).toBe(3);
      for (const ns of namespaces) expect(existsSync(ns!)).toBe(true);
      expect(existsSync(`/sys/class/net/${net.bridge}`)).toBe(true);
      const file = lab.kubeconfigPath;
      await lab.stop();
      expect(existsSync(file)).toBe(false);
      for (const ns of namespaces) expect(existsSync(ns!), ns).toBe(false);
      expect(existsSync(`/sys/class/net/${net.bridge}`)).toBe(false);
      for (const [h, p] of endpoints) expect(await refused(h, p), `${h}:${p}`).toBe(true);
      expect(await settled()).toEqual(childrenBefore);
      expect(labDirs()).toEqual(dirsBefore);
      } finally {
        // A failed expectation must not leave this lab behind (its namespaces would outlive the test).
        await lab.stop();
      }
    }
    process.env.TMPDIR = tmpBefore;
    if (tmpBefore === undefined) delete process.env.TMPDIR;
    expect(dirsBefore).toEqual([]);
    rmSync(ownTmp, { recursive: true, force: true });
    const end = Date.now() + 2_000;
    while (handles() > before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(handles()).toBeLessThanOrEqual(before);
  }, 300_000);
});
