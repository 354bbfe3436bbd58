import { Option, type Command } from 'commander';
import type { CliContext } from '../main.js';
import { LAB_FAULTS } from '../../lab/types.js';
import { SCENARIO_NAMES } from '../../topology/scenarios.js';

interface PathCliOptions {
  lab?: boolean; fault?: string; scenario?: string; context?: string; kubeconfig?: string; requests?: string;
  freshConnections?: boolean; deploy?: boolean; keep?: boolean; expect?: string; output?: string;
  reportDir?: string; bundle?: string; quiet?: boolean; entry?: string; gateway?: string; signKey?: string; tlsPolicy?: string;
  capture?: boolean; captureTool?: string; tlsGroups?: string; tlsCiphers?: string; meshConfig?: string; apply?: string;
}

/**
 * `mesh-verify path`, `up` and `down`. The work lives in src/path (imported inside the actions).
 */
export function registerPath(program: Command, ctx: CliContext): void {
  program
    .command('path')
    .description('deploy the reference topology (kind + Istio, or --lab), send requests through the NLB-equivalent, collect evidence from every proxy and judge each hop')
    .option('--lab', 'run against the local lab (a simulation, not a cluster): no Docker, kind or istioctl needed')
    .addOption(new Option('--fault <name>', 'with --lab: inject a fault into the lab').choices([...LAB_FAULTS]))
    .addOption(new Option('--scenario <name>', 'deploy a broken variant that must be contradicted').choices([...SCENARIO_NAMES]))
    .option('--context <name>', 'use this kubeconfig context (an existing cluster; no kind)')
    .option('--kubeconfig <file>', 'use this kubeconfig (an existing cluster; no kind)')
    .option('--entry <host:port>', 'connect the client here (the NLB) instead of the address found from the gateway Service')
    .option('--gateway <namespace/service>', 'the ingress gateway\'s Service (default istio-system/istio-ingressgateway; Helm chart: <release-namespace>/<release>)')
    .option('--capture', 'with --lab: record the hops with a packet capture on lo (tcpdump, as root) and judge the wire level: the run\'s marker in cleartext on plaintext hops, TLS records and no marker on TLS hops')
    .option('--capture-tool <path>', 'with --capture: the tcpdump to run (default $MESH_VERIFY_TCPDUMP, else tcpdump on PATH)')
    .option('--requests <n>', 'number of requests, each with its own x-request-id', '10')
    .option('--envoy <path>', 'with --lab: the Envoy binary the lab runs (default: MESH_VERIFY_ENVOY, then the one npm run setup installed, then envoy on PATH)')
    .option('--fresh-connections', 'open a new TLS connection per request (default: one kept-alive connection)')
    .option('--no-deploy', 'verify the topology already deployed (mesh-verify up; with --lab: as the lab started) without applying it')
    .option('--keep', 'leave what this run created or changed (cluster, objects) in place; not with --lab')
    .addOption(new Option('--expect <verdict>', 'exit 0 only if the run ends this way (contradicted: a negative CI run)').choices(['proven', 'contradicted']))
    .addOption(new Option('-o, --output <format>', 'report format on stdout (wide: the table without wrapping)').choices(['table', 'wide', 'json', 'junit', 'markdown']).default('table'))
    .option('--report-dir <dir>', 'write bundle.json, report.json, junit.xml and report.md there')
    .option('--bundle <file>', 'write the evidence bundle to this file')
    .option('--tls-groups <list>', 'the key-exchange groups the external client offers, in order, OpenSSL names separated by ":" (e.g. P-256:P-384; default: Node\'s, X25519 first, or X25519MLKEM768 with OpenSSL 3.5 as in Node 24)')
    .option('--tls-ciphers <list>', 'the cipher suites the external client offers, IANA or OpenSSL names separated by ":" (TLS 1.3 TLS_* suites and TLS 1.2 suites; default: Node\'s)')
    .option('--mesh-config <file>', 'with --lab: meshConfig fields the lab\'s Istio starts with (YAML: the fields, an IstioOperator or ConfigMap istio-system/istio), e.g. fixtures/istio/mesh-config-fips.yaml')
    .option('--apply <file>', 'with --lab: apply these objects (YAML) to the lab when it starts, as kubectl apply -f would, e.g. fixtures/istio/envoyfilter-fips-mesh-groups.yaml')
    .option('--tls-policy <name|file>', 'judge what each TLS hop negotiated against a policy: modern, fips-140-3, pq-hybrid, or a YAML/JSON policy file')
    .option('--sign-key <file>', 'sign the written bundle with this Ed25519 or ECDSA private key (PEM): writes <bundle>.dsse.json beside it')
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', `
Exit codes: 0 every hop proven, 1 a hop contradicted, 3 inconclusive, 2 usage, 4 environment.
Examples:
  mesh-verify path --lab                                   # the lab, healthy: proven
  mesh-verify path --lab --fault plaintext-gateway-bff     # contradicted on gateway->bff-sidecar
  mesh-verify path --lab --capture                         # plus the wire level (tcpdump on lo, root)
  mesh-verify path --scenario dr-disable --expect contradicted
  mesh-verify path --context prod --gateway istio-ingress/istio-ingress --no-deploy   # a Helm-installed gateway
  mesh-verify path --lab --mesh-config fixtures/istio/mesh-config-fips.yaml --apply fixtures/istio/envoyfilter-fips-mesh-groups.yaml --tls-policy fips-140-3
  mesh-verify path --lab --bundle run.json --sign-key signer.pem   # then: mesh-verify verify run.json --key signer.pub
  mesh-verify up && mesh-verify path --no-deploy --report-dir out && mesh-verify down`)
    .action(async (raw: PathCliOptions) => {
      const [{ parsePathOptions }, { runPath }, { defaultPathDeps }, { createProgress }, { tableWidth }] = await Promise.all([
        import('../../path/options.js'), import('../../path/run-path.js'), import('../../path/default-deps.js'), import('../../core/progress.js'),
        import('../terminal-width.js'),
      ]);
      const opts = parsePathOptions(raw);
      const { checkOutputDir, checkOutputFile } = await import('../output-paths.js');
      if (opts.reportDir !== null) await checkOutputDir('--report-dir', opts.reportDir);
      if (opts.bundle !== null) await checkOutputFile('--bundle', opts.bundle);
      // --sign-key is checked before any work: the key must be usable and a bundle file written.
      const signed = raw.signKey === undefined ? null : await prepareSigning(raw.signKey, opts.bundle, opts.reportDir);
      const progress = await createProgress({ quiet: raw.quiet === true || ctx.quiet() });
      // --tls-policy is read before any work too.
      const tlsPolicy = raw.tlsPolicy === undefined ? undefined : await (await import('../../io/tls-policy-file.js')).loadTlsPolicy(raw.tlsPolicy);
      const result = await runPath(opts, defaultPathDeps({ verbose: ctx.verbose(), width: tableWidth(), ...(tlsPolicy ? { tlsPolicy } : {}) }), progress);
      if (signed !== null && result.files.includes(signed.bundleFile)) {
        const envelope = await signed.sign();
        progress.info(`signed the bundle: ${envelope} (DSSE envelope, in-toto statement; check with: mesh-verify verify ${signed.bundleFile} --key PUB)`);
      }
      process.stdout.write(result.output);
      ctx.exitCode = result.exitCode;
    });
}

export function registerUp(program: Command, ctx: CliContext): void {
  program
    .command('up')
    .description('create/reuse the kind cluster (or use --context), install/reuse Istio and deploy the reference topology, then leave it running')
    .option('--context <name>', 'use this kubeconfig context instead of kind')
    .option('--kubeconfig <file>', 'use this kubeconfig instead of kind')
    .addOption(new Option('--scenario <name>', 'deploy a broken variant').choices([...SCENARIO_NAMES]))
    .option('-q, --quiet', 'no progress output')
    .action(async (raw: { context?: string; kubeconfig?: string; scenario?: string; quiet?: boolean }) => {
      const [{ runUp }, { createProgress }] = await Promise.all([import('../../path/lifecycle.js'), import('../../core/progress.js')]);
      const progress = await createProgress({ quiet: raw.quiet === true || ctx.quiet() });
      const r = await runUp({ context: raw.context ?? null, kubeconfig: raw.kubeconfig ?? null, scenario: (raw.scenario ?? null) as never }, progress);
      process.stdout.write([
        `target:  ${r.target.description}`,
        `istio:   ${r.istio?.version ?? 'unknown'}`,
        `entry:   ${r.entry.address}:${r.entry.port}`,
        `applied: ${r.applied} objects`,
        `next:    ${r.next}`,
        '',
      ].join('\n'));
      ctx.exitCode = 0;
    });
}

export function registerDown(program: Command, ctx: CliContext): void {
  program
    .command('down')
    .description('delete what mesh-verify made: the kind cluster it creates, or (with --context) every object it labelled')
    .option('--context <name>', 'delete mesh-verify objects from this context instead of deleting the kind cluster')
    .option('--kubeconfig <file>', 'use this kubeconfig (with or without --context)')
    .option('-q, --quiet', 'no progress output')
    .action(async (raw: { context?: string; kubeconfig?: string; quiet?: boolean }) => {
      const [{ runDown }, { createProgress }] = await Promise.all([import('../../path/lifecycle.js'), import('../../core/progress.js')]);
      const progress = await createProgress({ quiet: raw.quiet === true || ctx.quiet() });
      process.stdout.write(`${await runDown({ context: raw.context ?? null, kubeconfig: raw.kubeconfig ?? null }, progress)}\n`);
      ctx.exitCode = 0;
    });
}

async function prepareSigning(keyFile: string, bundle: string | null, reportDir: string | null): Promise<{ bundleFile: string; sign(): Promise<string> }> {
  const { UsageError } = await import('../../core/errors.js');
  const { join } = await import('node:path');
  const bundleFile = bundle ?? (reportDir !== null ? join(reportDir, 'bundle.json') : null);
  if (bundleFile === null) throw new UsageError('--sign-key signs the saved bundle, but no bundle is saved', 'add --bundle FILE or --report-dir DIR');
  const { readSigningKey, signBundleFile } = await import('../../bundle/signature-files.js');
  const key = await readSigningKey(keyFile);
  return { bundleFile, sign: () => signBundleFile(bundleFile, key) };
}
