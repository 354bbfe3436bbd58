import { Option, type Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../../core/errors.js';
import { parseNowOption } from './verify.js';

interface DiffCliOptions { output: 'table' | 'json' | 'junit' | 'markdown'; now?: string; certWarnDays?: string }

/**
 * `mesh-verify diff OLD NEW`: compare two runs' bundles segment by segment (offline).
 * Exit codes: 0 nothing regressed, 1 something regressed, 2 usage or bad input.
 */
export function registerDiff(program: Command, ctx: CliContext): void {
  program
    .command('diff')
    .description('compare two evidence bundles segment by segment: status, protection, TLS version and cipher, peer identities, issuing CA, expiry, evidence levels (offline)')
    .argument('<old>', 'the earlier run\'s bundle (e.g. last night\'s, or before an upgrade)')
    .argument('<new>', 'the later run\'s bundle')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'junit', 'markdown']).default('table'))
    .option('--now <time>', 'judge both runs\' certificates at this time (ISO 8601; default: each run\'s own time)')
    .option('--cert-warn-days <days>', 'report certificates expiring within this many days', '30')
    .addHelpText('after', `
Exit codes: 0 nothing regressed (identical, or only improvements and neutral changes), 1 something
regressed (one line per change), 2 usage or bad input.
Examples:
  mesh-verify diff before-upgrade.json after-upgrade.json
  mesh-verify diff last-night/bundle.json out/bundle.json -o markdown >> "$GITHUB_STEP_SUMMARY"`)
    .action(async (oldFile: string, newFile: string, opts: DiffCliOptions) => {
      const now = parseNowOption(opts.now);
      const certWarnDays = Number(opts.certWarnDays ?? '30');
      if (!Number.isInteger(certWarnDays) || certWarnDays < 0) {
        throw new UsageError(`--cert-warn-days ${opts.certWarnDays}: not a whole number of days`, 'e.g. --cert-warn-days 30');
      }
      const [{ loadBundle }, { signedPair }, { diffRuns }, { renderDiff }] = await Promise.all([
        import('../../bundle/load.js'), import('../../bundle/signature-files.js'), import('../../analyze/diff.js'), import('../../report/diff-report.js'),
      ]);
      // A signed bundle may be named by its envelope; the bundle beside it is compared.
      const [a, b] = await Promise.all([loadBundle(signedPair(oldFile).bundle), loadBundle(signedPair(newFile).bundle)]);
      const d = diffRuns(a, b, { now, certWarnDays });
      process.stdout.write(renderDiff(d, opts.output));
      ctx.exitCode = d.exitCode;
    });
}
