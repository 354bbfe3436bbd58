import { Option, type Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';

interface InspectCliOptions {
  file: string;
  certs?: string;
  stats?: string;
  output: 'table' | 'json';
  now?: string;
}

/**
 * `mesh-verify inspect --file <config_dump.json>`: one Istio proxy's TLS posture, offline.
 * The parsers and renderers are imported inside the action so that --help stays fast.
 */
export function registerInspect(program: Command, ctx: CliContext): void {
  program
    .command('inspect')
    .description("explain one Istio proxy's TLS posture from a saved /config_dump (offline, like istioctl --file)")
    .requiredOption('-f, --file <config_dump.json>', 'Envoy /config_dump of an Istio sidecar or gateway (include_eds adds endpoint tlsMode)')
    .option('--certs <file>', 'Envoy /certs output of the same proxy: adds certificate facts')
    .option('--stats <file>', 'Envoy /stats output (text or ?format=json): adds TLS handshake counters')
    .option('--now <time>', 'judge certificate expiry at this time (ISO 8601; default: the current time)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText('after', `
Capture the inputs with, e.g.:
  kubectl exec <pod> -c istio-proxy -- pilot-agent request GET 'config_dump?include_eds' > dump.json
  kubectl exec <pod> -c istio-proxy -- pilot-agent request GET certs > certs.json
  kubectl exec <pod> -c istio-proxy -- pilot-agent request GET stats > stats.txt`)
    .action(async (opts: InspectCliOptions) => {
      let now: Date | undefined;
      if (opts.now !== undefined) {
        now = new Date(opts.now);
        if (Number.isNaN(now.getTime())) throw new UsageError(`--now ${opts.now}: not a date`, 'use ISO 8601, e.g. 2025-06-01T00:00:00Z');
      }
      const { runInspect, readAnything } = await import('../../inspect/run-inspect.js');
      const result = await runInspect({ file: opts.file, certs: opts.certs, stats: opts.stats, now });
      for (const w of result.warnings ?? []) process.stderr.write(`mesh-verify: warning: ${opts.file}: ${w}\n`);
      if (!readAnything(result)) {
        // Exit 3: no listener, cluster, secret or node could be read, so nothing can be said.
        const sections = result.sections?.length ? result.sections.join(', ') : 'none';
        process.stderr.write(`mesh-verify: ${opts.file}: nothing in this config dump could be read (sections: ${sections}); capture it again with: kubectl exec <pod> -c istio-proxy -- pilot-agent request GET config_dump\n`);
        ctx.exitCode = ExitCode.INCONCLUSIVE;
        return;
      }
      if (opts.output === 'json') {
        const { renderPostureJson } = await import('../../report/posture-json.js');
        process.stdout.write(renderPostureJson(result));
      } else {
        const { renderPostureTable } = await import('../../report/posture-table.js');
        process.stdout.write(renderPostureTable(result));
      }
      ctx.exitCode = ExitCode.OK;
    });
}
