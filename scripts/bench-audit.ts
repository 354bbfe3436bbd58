/**
 * Benchmark of `mesh-verify audit` on the lab's scale fleet (issue 5).
 *
 *   npx tsx scripts/bench-audit.ts [--proxies 1000] [--concurrency 32] [--baseline-sample 40]
 *                                  [--kubectl-sample 20] [--transport portforward|direct]
 *                                  [--timeout-ms 20000] [--cold-lab]
 *
 * A child process runs startLab({ proxies }) as `mesh-verify lab up --proxies N` does: the
 * reference lab and the fleet on one real Kubernetes control plane (kube-apiserver, etcd,
 * kube-controller-manager, kube-scheduler, kwok as the node; so that this process's memory is
 * the audit's alone), warmed by one unmeasured audit of its own unless --cold-lab (a real API
 * server and real Envoys are long-running, warm processes). This process audits every proxy
 * (port-forward through the real apiserver and kwok, or `direct`: straight to each admin port,
 * to measure the audit without the port-forward's cost),
 * samples its RSS, then runs the baseline on a sample, one proxy at a time as each
 * `istioctl proxy-config all <pod>` of a loop does (load the kubeconfig, GET the pod, one
 * port-forward, the FULL config dump, parsed; no process start-up counted), extrapolated to
 * the whole fleet; then the loops an operator runs, one Go CLI process per proxy (`kubectl
 * port-forward` + GET config_dump?include_eds, and `kubectl exec pilot-agent request`). It checks
 * the findings against the fleet's planted problems.
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Args = Record<string, string>;
function parseArgs(argv: string[]): Args {
  const out: Args = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) out[argv[i].slice(2)] = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'true';
  }
  return out;
}

interface Ready { kubeconfig: string; planted: { code: string; object: string }[]; adminPorts: Record<string, number>; startMs: number; warmMs: number | null }

/**
 * Warm the lab as a long-running cluster is warm: one unmeasured audit of the fleet from inside
 * the lab's process, so that V8 has optimised the fleet's admin servers and the apiserver and
 * kwok have served every pod once before the measured audit (whose own process stays cold, as a
 * real `mesh-verify audit` run is).
 */
async function warmLab(kubeconfig: string): Promise<number> {
  const t0 = Date.now();
  const { connectKube } = await import('../src/cluster/kube-client.js');
  const { runAudit } = await import('../src/collect/audit/run-audit.js');
  await runAudit(await connectKube({ kubeconfig }), { namespaces: null, minCertDays: 30, targetVersion: null, concurrency: 32, timeoutMs: 20_000, allowExec: false, simulated: true });
  return Date.now() - t0;
}

async function serve(count: number, warm: boolean): Promise<void> {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { startLab } = await import('../src/lab/lab.js');
  const t0 = Date.now();
  // What `mesh-verify lab up --proxies N` runs: the reference lab plus the fleet, one real control plane.
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'mesh-verify-bench-')), 'kubeconfig');
  const lab = await startLab({ proxies: count, kubeconfigOut: kubeconfig, log: (l) => { if (l.startsWith('lab: fleet') || l.startsWith('fleet:')) process.stderr.write(`  ${l}\n`); } });
  const adminPorts: Record<string, number> = {};
  for (const p of lab.pods()) if (p.ports[15000]) adminPorts[`${p.namespace}/${p.name}`] = p.ports[15000];
  const startMs = Date.now() - t0;
  const warmMs = warm ? await warmLab(kubeconfig) : null;
  const ready: Ready = { kubeconfig, planted: lab.fleet?.planted ?? [], adminPorts, startMs, warmMs };
  process.stdout.write(JSON.stringify(ready) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => { void lab.stop().then(() => process.exit(0)); });
}

function directTransport(port: number) {
  const agent = new http.Agent({ keepAlive: false });
  return {
    get: (path: string, o: { timeoutMs?: number } = {}) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(o.timeoutMs ?? 10_000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    }),
    close: async () => { agent.destroy(); },
  };
}

/**
 * One iteration of an operator's loop: `kubectl port-forward pod/<name> :15000` until it prints
 * its local port, one GET through it, then stop kubectl. The body, or null on any failure.
 */
async function kubectlPortForwardGet(kubeconfig: string, namespace: string, name: string, path: string, timeoutMs: number): Promise<string | null> {
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, '-n', namespace, 'port-forward', `pod/${name}`, ':15000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      child.once('exit', () => { clearTimeout(timer); reject(new Error('kubectl exited')); });
    });
    const t = directTransport(port);
    try {
      const res = await t.get(path, { timeoutMs });
      return res.status === 200 ? res.body : null;
    } finally {
      await t.close();
    }
  } catch {
    return null;
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

/** Run `node bin/mesh-verify.js audit -A -o json --quiet` once; its wall time and peak RSS. */
async function runCli(kubeconfig: string): Promise<{ exitCode: number | null; wallMs: number; maxRssMb: number | null; proxies: number | string }> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const preload = 'data:text/javascript,' + encodeURIComponent("import fs from 'node:fs'; process.on('exit', () => fs.writeSync(2, `\\nmaxRSS ${process.resourceUsage().maxRSS}\\n`));");
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', preload, 'bin/mesh-verify.js', 'audit', '--kubeconfig', kubeconfig, '-A', '-o', 'json', '--quiet'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exitCode = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const wallMs = performance.now() - t0;
  const m = /maxRSS (\d+)/.exec(err);
  let proxies: number | string = 'unknown';
  try { proxies = (JSON.parse(out) as { proxies: { total: number } }).proxies.total; } catch { proxies = `unreadable output (${err.trim().split('\n')[0] ?? ''})`; }
  return { exitCode, wallMs, maxRssMb: m ? Number(m[1]) / 1024 : null, proxies };
}

/** CPU time (user + system, ms) of a process so far, from /proc (Linux), or null. */
function cpuMsOf(pid: number): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

/** A process and its descendants now (the lab's node process: its kube-apiserver, etcd, kwok, controllers, Envoys, apps). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i += 1) {
    try {
      for (const task of readdirSync(`/proc/${out[i]}/task`)) {
        const kids = readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch { /* gone */ }
  }
  return out;
}

/** CPU (ms) of every process of `pids`, by process name. */
function cpuByName(pids: number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    const ms = cpuMsOf(pid);
    let name = '?';
    try { name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { continue; }
    if (ms !== null) out.set(`${name}:${pid}`, ms);
  }
  return out;
}

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 1e6;
}

async function bench(args: Args): Promise<void> {
  const count = Number(args.proxies ?? 1000);
  const concurrency = Number(args.concurrency ?? 32);
  const sample = Number(args['baseline-sample'] ?? 40);
  const transport = args.transport ?? 'portforward';
  const timeoutMs = Number(args['timeout-ms'] ?? 20_000);
  const self = fileURLToPath(import.meta.url);
  // e.g. BENCH_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof" to profile the lab's side.
  const childArgs = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const warm = args['cold-lab'] !== 'true';
  const child = spawn(process.execPath, [...childArgs, '--import', 'tsx', self, '--serve', String(count), '--warm', warm ? '1' : '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (c) => reject(new Error(`fleet process exited (${c})`)));
  });
  const ready = JSON.parse(line) as Ready;
  console.log(`lab with a fleet of ${count} proxies (startLab, as lab up --proxies) up in ${ready.startMs} ms (child process), ${ready.planted.length} planted problems; `
    + (ready.warmMs === null ? 'lab cold (--cold-lab)' : `lab warmed by one unmeasured audit from its own process (${ready.warmMs} ms), as a long-running cluster is warm; this process stays cold`));
  try {
    const { connectKube, apiRequest } = await import('../src/cluster/kube-client.js');
    const { runAudit } = await import('../src/collect/audit/run-audit.js');
    const { openAdminTransport } = await import('../src/cluster/admin-transport.js');
    const { inspectConfigDump } = await import('../src/envoy/config-dump.js');
    const clients = await connectKube({ kubeconfig: ready.kubeconfig });
    const rssBefore = process.memoryUsage().rss / 1e6;
    let peak = rssBefore;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss / 1e6); }, 25);
    const cpu0 = process.cpuUsage();
    const labCpu0 = cpuMsOf(child.pid!);
    const labTree = processTree(child.pid!);
    const treeCpu0 = cpuByName(labTree);
    const t0 = performance.now();
    const report = await runAudit(clients, {
      namespaces: null, minCertDays: 30, targetVersion: null, concurrency, timeoutMs, allowExec: false, simulated: true,
      ...(transport === 'direct' ? { openTransport: async (pod) => directTransport(ready.adminPorts[`${pod.namespace}/${pod.name}`] ?? 1) } : {}),
      onProgress: (p) => { if (p.done % 100 === 0) process.stderr.write(`  audit: ${p.done}/${p.total} (${p.unreadable} unreadable)\n`); },
    });
    const auditMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const labCpu1 = cpuMsOf(child.pid!);
    const treeCpu1 = cpuByName(labTree);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss / 1e6);
    const rate = report.proxies.total / (auditMs / 1000);
    console.log(`audit (${transport}, concurrency ${concurrency}): ${report.proxies.total} proxies in ${(auditMs / 1000).toFixed(2)} s = ${rate.toFixed(1)} proxies/s; `
      + `${report.proxies.unreadable} unreadable; findings ${report.counts.error} error / ${report.counts.warning} warning / ${report.counts.info} info`);
    const msPerProxy = (ms: number) => (ms / report.proxies.total).toFixed(2);
    console.log(`cpu during the audit: audit process ${msPerProxy((cpu.user + cpu.system) / 1000)} ms/proxy, lab process `
      + `${labCpu0 === null || labCpu1 === null ? 'unknown' : `${msPerProxy(labCpu1 - labCpu0)} ms/proxy`} (2 cores shared)`);
    const byComponent = new Map<string, number>();
    for (const [key, ms] of treeCpu1) {
      const name = key.split(':')[0]!;
      byComponent.set(name, (byComponent.get(name) ?? 0) + ms - (treeCpu0.get(key) ?? 0));
    }
    console.log(`cpu during the audit, the lab's processes: ${[...byComponent].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]).map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
    console.log(`memory: RSS ${rssBefore.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB during the audit (sampled every 25 ms; VmHWM ${peakRssMb().toFixed(0)} MB)`);

    // What a user runs: the built CLI in its own process (node, no tsx), its peak RSS as the
    // kernel counts it (process.resourceUsage().maxRSS, written at exit by a preload).
    const cli = await runCli(ready.kubeconfig);
    console.log(`cli: \`mesh-verify audit -A -o json\` (dist, own process): exit ${cli.exitCode}, ${cli.proxies} proxies in ${(cli.wallMs / 1000).toFixed(2)} s wall `
      + `(process start, inventory and report included), peak RSS ${cli.maxRssMb === null ? 'unknown' : `${cli.maxRssMb.toFixed(0)} MB`}`);

    const want = new Set(ready.planted.map((p) => `${p.code} | ${p.object}`));
    const got = new Set(report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.code} | ${f.object}`));
    const missing = [...want].filter((k) => !got.has(k));
    const extra = [...got].filter((k) => !want.has(k));
    console.log(`ground truth: ${want.size} planted, ${want.size - missing.length} found, ${missing.length} missing, ${extra.length} not planted`);
    for (const k of missing.slice(0, 10)) console.log(`  missing: ${k}`);
    for (const k of extra.slice(0, 10)) console.log(`  not planted: ${k}`);

    // Baseline: sequential, what each `istioctl proxy-config all <pod>` of a loop does (istioctl
    // pkg/proxyconfig: one port-forward per EnvoyDo, GET config_dump?include_eds=true, parsed):
    // load the kubeconfig, GET the pod, open a port-forward, read the FULL dump, parse it. Run a
    // second time without include_eds (the plain full dump), for comparison.
    const pods = Object.keys(ready.adminPorts);
    const step = Math.max(1, Math.floor(pods.length / sample));
    const picked = pods.filter((_, i) => i % step === 0).slice(0, sample);
    const sequential = async (dumpPath: string) => {
      let ok = 0;
      let bytes = 0;
      let b0 = performance.now();
      // Two unmeasured rounds first, so that the loop is timed with its code already optimised.
      for (const [i, key] of [...picked.slice(0, 2), ...picked].entries()) {
        if (i === 2) { ok = 0; bytes = 0; b0 = performance.now(); }
        const [namespace, name] = key.split('/');
        try {
          const own = transport === 'direct' ? clients : await connectKube({ kubeconfig: ready.kubeconfig, skipVersionCheck: true });
          if (transport !== 'direct') await apiRequest(own.kc, 'GET', `/api/v1/namespaces/${namespace}/pods/${name}`, { timeoutMs });
          const t = transport === 'direct' ? directTransport(ready.adminPorts[key]) : await openAdminTransport(own, { namespace, name }, { allowExec: false, timeoutMs });
          try {
            const res = await t.get(dumpPath, { timeoutMs });
            bytes += res.body.length;
            inspectConfigDump(JSON.parse(res.body));
            ok += 1;
          } finally { await t.close(); }
        } catch { /* unreachable pods cost their timeout in the baseline too */ }
      }
      const perProxy = (performance.now() - b0) / picked.length;
      return { ok, perProxy, rate: 1000 / perProxy, kb: bytes / Math.max(1, ok) / 1024 };
    };
    const line = (what: string, b: { ok: number; perProxy: number; rate: number; kb: number }) =>
      `baseline (sequential ${what} via ${transport}): sample of ${picked.length} (${b.ok} read, ${b.kb.toFixed(0)} KB average), `
      + `${b.perProxy.toFixed(0)} ms per proxy = ${b.rate.toFixed(1)} proxies/s, extrapolated ${(b.perProxy * count / 1000).toFixed(1)} s for ${count}; speed-up ${(rate / b.rate).toFixed(1)}x`;
    const withEds = await sequential('/config_dump?include_eds');
    console.log(line('config_dump?include_eds, as istioctl proxy-config all', withEds));
    const plain = await sequential('/config_dump');
    console.log(line('config_dump without EDS', plain));
    console.log(`speed-up vs the in-process istioctl-like baseline: ${(rate / withEds.rate).toFixed(1)}x (target >= 10x); rate target >= 100/s: ${rate >= 100 ? 'met' : 'NOT met'}; memory target < 300 MB: ${peak < 300 ? 'met' : 'NOT met'}`);

    // Baselines 2 and 3, what an operator's loop really runs: one Go CLI process per proxy, as a
    // shell loop over `istioctl proxy-config all` starts one istioctl per pod (istioctl itself
    // cannot be installed here; kubectl is the same kind of client-go binary). 2: `kubectl
    // port-forward` to 15000 and GET config_dump?include_eds through it (istioctl's requests);
    // 3: `kubectl exec ... pilot-agent request GET config_dump`. Each dump is parsed.
    const kubectlSample = picked.slice(0, Math.min(picked.length, Number(args['kubectl-sample'] ?? 20)));
    const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    const cliLoops: { what: string; rate: number }[] = [];
    if (kubectlSample.length === 0) {
      console.log('baselines (kubectl loops): skipped (--kubectl-sample 0)');
    } else if (kubectl.error || kubectl.status !== 0) {
      console.log('baselines (kubectl loops): skipped: kubectl is not installed');
    } else {
      const loop = async (what: string, once: (namespace: string, name: string) => Promise<string | null>) => {
        let kOk = 0;
        const k0 = performance.now();
        for (const key of kubectlSample) {
          const [namespace, name] = key.split('/');
          const body = await once(namespace, name);
          if (body !== null) {
            try { inspectConfigDump(JSON.parse(body)); kOk += 1; } catch { /* counted as read failure */ }
          }
        }
        const kPer = (performance.now() - k0) / Math.max(1, kubectlSample.length);
        cliLoops.push({ what, rate: 1000 / kPer });
        console.log(`baseline (sequential ${what} per proxy): sample of ${kubectlSample.length} (${kOk} read), `
          + `${kPer.toFixed(0)} ms per proxy = ${(1000 / kPer).toFixed(1)} proxies/s; speed-up: ${(rate / (1000 / kPer)).toFixed(1)}x`);
      };
      await loop('`kubectl port-forward` + GET config_dump?include_eds', (namespace, name) => kubectlPortForwardGet(ready.kubeconfig, namespace, name, '/config_dump?include_eds', timeoutMs));
      await loop('`kubectl exec ... pilot-agent request GET config_dump`', async (namespace, name) => {
        const r = spawnSync('kubectl', ['--kubeconfig', ready.kubeconfig, '-n', namespace, 'exec', name, '-c', 'istio-proxy', '--',
          'pilot-agent', 'request', 'GET', 'config_dump'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs });
        return r.status === 0 ? r.stdout : null;
      });
    }
    console.log('summary: audit ' + rate.toFixed(0) + ' proxies/s; speed-up (target >= 10x) vs '
      + [`the in-process loop ${(rate / withEds.rate).toFixed(1)}x`, ...cliLoops.map((l) => `the ${l.what} loop ${(rate / l.rate).toFixed(1)}x`)].join(', '));
    if (missing.length > 0 || extra.length > 0) process.exitCode = 1;
  } finally {
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.serve) await serve(Number(args.serve), args.warm === '1');
else await bench(args);
