import { Option, type Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../../core/errors.js';
import { LAB_FAULTS, isLabFault } from '../../lab/types.js';

export interface LabUpOptions {
  fault?: string;
  kubeconfigOut?: string;
  proxies?: string;
  envoy?: string;
  meshConfig?: string;
  apply?: string;
}

/** `mesh-verify lab up`: the local simulated mesh in the foreground until Ctrl-C. */
export function registerLab(program: Command, ctx: CliContext): void {
  const lab = program.command('lab').description('the local lab: real Envoy and TLS on loopback behind a real Kubernetes control plane (kwok as the node, istiod simulated); NOT a cluster');
  lab
    .command('up')
    .description('start the lab in the foreground; Ctrl-C stops it and frees every port')
    .addOption(new Option('--fault <name>', `start with a fault: ${LAB_FAULTS.join(', ')}`))
    .option('--kubeconfig-out <file>', 'write the lab kubeconfig here and keep it (default: a temp file removed on stop)')
    .option('--proxies <n>', 'add N proxy pods on kwok\'s node that answer with recorded real-Envoy admin data (scale fleet for audit benchmarks)')
    .option('--envoy <path>', 'the Envoy binary to run (default: MESH_VERIFY_ENVOY, then the one npm run setup installed, then envoy on PATH)')
    .option('--mesh-config <file>', 'meshConfig fields the lab\'s Istio starts with (YAML: the fields, an IstioOperator or ConfigMap istio-system/istio)')
    .option('--apply <file>', 'objects (YAML) to apply once the lab is up, as kubectl apply -f would')
    .action(async (opts: LabUpOptions) => {
      if (opts.fault !== undefined && !isLabFault(opts.fault)) {
        throw new UsageError(`unknown fault "${opts.fault}"`, `use one of: ${LAB_FAULTS.join(', ')}`);
      }
      let proxies: number | undefined;
      if (opts.proxies !== undefined) {
        proxies = Number(opts.proxies);
        if (!Number.isInteger(proxies) || proxies < 0 || proxies > 100_000) throw new UsageError(`--proxies must be a whole number from 0 to 100000 (got "${opts.proxies}")`);
      }
      const meshConfig = opts.meshConfig === undefined ? undefined : await (await import('../../io/mesh-config-file.js')).loadMeshConfigFile(opts.meshConfig);
      const objects = opts.apply === undefined ? undefined : await (await import('../../io/lab-objects-file.js')).loadLabObjectsFile(opts.apply);
      ctx.exitCode = await runLabUp({
        fault: opts.fault ?? null, kubeconfigOut: opts.kubeconfigOut, proxies, quiet: ctx.quiet(), ...(opts.envoy ? { envoy: opts.envoy } : {}),
        ...(meshConfig ? { meshConfig } : {}), ...(objects ? { objects } : {}),
      });
    });
}

export interface RunLabUpOptions {
  fault: string | null;
  kubeconfigOut?: string;
  proxies?: number;
  /** The Envoy binary (--envoy). */
  envoy?: string;
  /** --mesh-config, --apply (already read). */
  meshConfig?: Record<string, unknown>;
  objects?: Record<string, unknown>[];
  quiet?: boolean;
  /** Stops the lab when aborted (default: SIGINT/SIGTERM). */
  signal?: AbortSignal;
  out?: (text: string) => void;
}

function waitForStop(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    const onAbort = () => done('abort');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (signal?.aborted) done('abort');
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runLabUp(opts: RunLabUpOptions): Promise<number> {
  const { createProgress } = await import('../../core/progress.js');
  const { startLab } = await import('../../lab/lab.js');
  const { rm } = await import('node:fs/promises');
  const { writeFileAtomic } = await import('../../io/atomic-write.js');
  const { join } = await import('node:path');
  const out = opts.out ?? ((t: string) => { process.stdout.write(t); });
  if (opts.kubeconfigOut !== undefined) await (await import('../output-paths.js')).checkOutputFile('--kubeconfig-out', opts.kubeconfigOut);
  const progress = await createProgress({ quiet: opts.quiet });
  const step = progress.step(`starting the lab${opts.fault ? ` with fault ${opts.fault}` : ''}`);
  let lab;
  try {
    const labOpts = {
      fault: opts.fault as never, kubeconfigOut: opts.kubeconfigOut, proxies: opts.proxies, ...(opts.envoy ? { envoy: opts.envoy } : {}),
      ...(opts.meshConfig ? { meshConfig: opts.meshConfig } : {}), ...(opts.objects ? { objects: opts.objects } : {}),
    };
    lab = await startLab(labOpts);
  } catch (err) {
    step.fail('the lab did not start');
    throw err;
  }
  const caDir = (await import('../../lab/lab-dirs.js')).labTempDir('mesh-verify-lab-ca-');
  try {
    const caFile = join(caDir, 'external-ca.pem');
    await writeFileAtomic(caFile, lab.externalCaPem, 0o644);
    step.succeed('the lab is up');
    const nlb = `${lab.nlb.host}:${lab.nlb.port}`;
    out([
      `mesh-verify lab: real Envoy ${lab.envoy.version} (NLB, gateway, sidecars), real TLS and mTLS and the real app, each pod in a network namespace of its own with Istio's iptables rules, behind a real Kubernetes control plane; the node and container runtime (kwok) and istiod are simulated. It is not a cluster.`,
      `  fault        ${lab.fault ?? 'none'}`,
      `  NLB          ${nlb} (serves https://${lab.publicHost})`,
      `  API server   ${lab.apiServerUrl}`,
      `  kubeconfig   ${lab.kubeconfigPath}${opts.kubeconfigOut ? '' : ' (removed on stop)'}`,
      `  external CA  ${caFile} (removed on stop)`,
      ...(opts.proxies ? [`  proxies      ${opts.proxies} extra proxy pods on kwok's node, answering with admin data recorded from real Envoy`] : []),
      '',
      'Try:',
      `  kubectl --kubeconfig ${lab.kubeconfigPath} get pods -A`,
      `  kubectl --kubeconfig ${lab.kubeconfigPath} get gateways,virtualservices,destinationrules,peerauthentications -A`,
      `  curl --resolve ${lab.publicHost}:${lab.nlb.port}:${lab.nlb.host} --cacert ${caFile} https://${lab.publicHost}:${lab.nlb.port}/`,
      `  mesh-verify path --kubeconfig ${lab.kubeconfigPath} --entry ${nlb}   # this lab, like a cluster`,
      `  mesh-verify audit --kubeconfig ${lab.kubeconfigPath}`,
      '',
      'Press Ctrl-C to stop the lab.',
      '',
    ].join('\n'));
    const why = await waitForStop(opts.signal);
    const stopping = progress.step(`stopping the lab (${why})`);
    await lab.stop();
    stopping.succeed('the lab stopped; every port is closed');
    return 0;
  } finally {
    await lab.stop();
    await rm(caDir, { recursive: true, force: true });
  }
}
