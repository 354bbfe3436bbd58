import { Option, type Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../../core/errors.js';

interface VerifyCliOptions { key?: string; now?: string; output: 'table' | 'json' }

export function parseNowOption(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const now = new Date(value);
  if (Number.isNaN(now.getTime())) throw new UsageError(`--now ${value}: not a date`, 'use ISO 8601, e.g. 2026-03-02T10:00:00Z');
  return now;
}

/**
 * `mesh-verify verify <bundle> --key PUB`: check a signed bundle offline.
 * Exit codes: 0 verified, 1 tampered (changed byte, wrong key), 2 unsigned or unreadable, 3 the
 * key's certificate expired (or is not yet valid) at the time of checking.
 */
export function registerVerify(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .description('check the signature of a signed evidence bundle offline (DSSE envelope with an in-toto statement)')
    .argument('<bundle>', 'the bundle file (its envelope <bundle>.dsse.json is read beside it) or the envelope file')
    .option('--key <file>', 'the signer\'s public key (PEM) or X.509 certificate (PEM; its validity limits the key)')
    .option('--now <time>', 'check the certificate key\'s validity at this time (ISO 8601; default: the current time)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText('after', `
Exit codes: 0 verified, 1 tampered (a changed byte, a wrong key), 2 unsigned, unreadable or usage,
3 the key's certificate has expired (signature and digest hold, the signer cannot be vouched for).
Examples:
  mesh-verify path --lab --bundle run.json --sign-key signer.pem
  mesh-verify verify run.json --key signer.pub
  mesh-verify verify run.json --key signer.crt -o json`)
    .action(async (file: string, opts: VerifyCliOptions) => {
      if (opts.key === undefined) throw new UsageError('verify needs --key FILE (the signer\'s public key or certificate)', 'e.g. mesh-verify verify run.json --key signer.pub');
      const now = parseNowOption(opts.now) ?? new Date();
      const { readVerificationKey, checkBundleSignature } = await import('../../bundle/signature-files.js');
      const { signatureExitCode } = await import('../../bundle/dsse.js');
      const key = await readVerificationKey(opts.key);
      const result = await checkBundleSignature(file, key, now);
      const c = result.check;
      const exitCode = signatureExitCode(c);
      if (opts.output === 'json') {
        const body = {
          bundle: result.bundleFile, envelope: result.envelopeFile, status: c.status, exitCode, message: c.message,
          ...(c.status === 'tampered' ? { reason: c.reason } : { keyid: c.keyid, algorithm: c.algorithm, statement: c.statement }),
        };
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      } else {
        const head = c.status === 'verified' ? 'VERIFIED' : c.status === 'tampered' ? 'TAMPERED' : 'KEY EXPIRED';
        const lines = [`${head}: ${result.bundleFile}: ${c.message}`];
        if (c.status !== 'tampered') {
          const p = c.statement.predicate;
          if (p?.run && p.target) {
            lines.push(`run ${p.run.id} ${p.run.startedAt} -> ${p.run.finishedAt ?? '?'} by ${p.tool?.name ?? '?'} ${p.tool?.version ?? '?'}; target ${p.target.kind}${p.target.simulated ? ' (SIMULATED)' : ''}: ${p.target.description}`);
          }
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      ctx.exitCode = exitCode;
    });
}
