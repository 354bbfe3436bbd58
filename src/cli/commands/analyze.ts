import { Option, type Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../../core/errors.js';

interface AnalyzeCliOptions {
  output: 'table' | 'wide' | 'json' | 'junit' | 'markdown';
  now?: string;
  certWarnDays?: string;
  key?: string;
  tlsPolicy?: string;
}

/**
 * `mesh-verify analyze <bundle>`: judge a saved evidence bundle again, offline.
 * Exit codes: 0 every segment proven, 1 something contradicted, 2 bad input, 3 inconclusive.
 */
export function registerAnalyze(program: Command, ctx: CliContext): void {
  program
    .command('analyze')
    .description('judge a saved evidence bundle: per-segment verdicts with their evidence (offline)')
    .argument('<bundle>', 'evidence bundle written by `mesh-verify path` (or a fixture in fixtures/bundles/)')
    .addOption(new Option('-o, --output <format>', 'output format (wide: the table without wrapping)').choices(['table', 'wide', 'json', 'junit', 'markdown']).default('table'))
    .option('--now <time>', 'judge certificate expiry at this time (ISO 8601; default: the current time)')
    .option('--cert-warn-days <days>', 'report certificates expiring within this many days (and past half their lifetime)', '30')
    .option('--tls-policy <name|file>', 'judge what each TLS hop negotiated against a policy: modern, fips-140-3, pq-hybrid, or a YAML/JSON policy file')
    .option('--key <file>', 'check the bundle\'s signature (<bundle>.dsse.json) with this public key or X.509 certificate (PEM)')
    .addHelpText('after', `
Exit codes: 0 all segments proven, 1 something contradicted (or, with --key, a signature that
did not hold), 2 usage or bad input (with --key: an unsigned bundle), 3 inconclusive (or a proven
run whose signing key's certificate has expired).
Examples:
  mesh-verify analyze run.bundle.json --key signer.pub
  mesh-verify analyze run.bundle.json
  mesh-verify analyze run.bundle.json -o markdown >> "$GITHUB_STEP_SUMMARY"
  mesh-verify analyze run.bundle.json -o junit > mesh-verify.xml`)
    .action(async (file: string, opts: AnalyzeCliOptions) => {
      let now: Date | undefined;
      if (opts.now !== undefined) {
        now = new Date(opts.now);
        if (Number.isNaN(now.getTime())) throw new UsageError(`--now ${opts.now}: not a date`, 'use ISO 8601, e.g. 2026-03-02T10:00:00Z');
      }
      const certWarnDays = Number(opts.certWarnDays ?? '30');
      if (!Number.isInteger(certWarnDays) || certWarnDays < 0) {
        throw new UsageError(`--cert-warn-days ${opts.certWarnDays}: not a whole number of days`, 'e.g. --cert-warn-days 30');
      }
      const { loadBundle } = await import('../../bundle/load.js');
      const { analyzeBundle } = await import('../../analyze/analyze-bundle.js');
      const { renderPathReport } = await import('../../report/path-report.js');
      const { tableWidth } = await import('../terminal-width.js');
      const sig = await import('../../bundle/signature-files.js');
      const pair = sig.signedPair(file);
      const key = opts.key === undefined ? null : await sig.readVerificationKey(opts.key);
      const bundle = await loadBundle(pair.bundle);
      const tlsPolicy = opts.tlsPolicy === undefined ? undefined : await (await import('../../io/tls-policy-file.js')).loadTlsPolicy(opts.tlsPolicy);
      let report = analyzeBundle(bundle, { now, certWarnDays, ...(tlsPolicy ? { tlsPolicy } : {}) });
      if (key !== null || await sig.hasEnvelope(pair.bundle)) {
        const { withSignature } = await import('../../analyze/signature.js');
        if (key === null) {
          report = withSignature(report, { status: 'not-checked', keyid: null, message: `${pair.envelope} is beside the bundle` });
        } else {
          // The key's validity is judged now (or at --now), like `verify`.
          const { check } = await sig.checkBundleSignature(pair.bundle, key, now ?? new Date());
          report = withSignature(report, { status: check.status, keyid: check.status === 'tampered' ? null : check.keyid, message: check.message });
        }
      }
      process.stdout.write(renderPathReport(report, opts.output, { verbose: ctx.verbose(), width: tableWidth() }));
      ctx.exitCode = report.exitCode;
    });
}
