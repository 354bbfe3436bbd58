import { Command, CommanderError, Option } from 'commander';
import { ExitCode } from '../core/exit-codes.js';
import { MeshVerifyError, formatError } from '../core/errors.js';
import { registerInspect } from './commands/inspect.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerLab } from './commands/lab.js';
import { registerPath, registerUp, registerDown } from './commands/path.js';
import { registerAudit } from './commands/audit.js';
import { registerVerify } from './commands/verify.js';
import { registerDiff } from './commands/diff.js';
import { VERSION } from '../version.js';

/**
 * Shared state of one CLI invocation. Command actions set `exitCode`; process.exit is never
 * called anywhere: bin/mesh-verify.js sets process.exitCode from main()'s result.
 */
export interface CliContext {
  exitCode: number;
  /** --verbose: list every evidence item behind each verdict (path, analyze). */
  verbose(): boolean;
  /** --debug: print stack traces on errors. */
  debug(): boolean;
  quiet(): boolean;
}

/**
 * Command files (src/cli/commands/*.ts) must stay light at import time: they register options
 * and import the modules doing the work lazily inside the action, so that `--help` and
 * `inspect` start fast.
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('mesh-verify')
    .description('Prove where traffic in an Istio mesh is encrypted, decrypted and re-encrypted.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--verbose', 'list every evidence item behind each verdict (path, analyze)'))
    .addOption(new Option('--debug', 'print stack traces on errors'))
    .addOption(new Option('-q, --quiet', 'no progress output (results only)'))
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();
  registerInspect(program, ctx);
  registerAnalyze(program, ctx);
  registerPath(program, ctx);
  registerUp(program, ctx);
  registerDown(program, ctx);
  registerAudit(program, ctx);
  registerVerify(program, ctx);
  registerDiff(program, ctx);
  registerLab(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/**
 * kubectl accepts a short option's value after `=` (`-o=json`, `-n=prod`); commander would take
 * `=json` as the value. Split those into two arguments (up to a `--`).
 */
export function splitShortOptionValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  let rest = false;
  for (const a of argv) {
    if (a === '--') rest = true;
    const m = rest ? null : /^(-[a-zA-Z])=(.*)$/s.exec(a);
    if (m) out.push(m[1], m[2]);
    else out.push(a);
  }
  return out;
}

export async function main(rawArgv: string[]): Promise<number> {
  const argv = splitShortOptionValues(rawArgv);
  const before = (flag: string) => { const i = argv.indexOf(flag); const end = argv.indexOf('--'); return i !== -1 && (end === -1 || i < end); };
  const ctx: CliContext = {
    exitCode: ExitCode.OK,
    verbose: () => before('--verbose'),
    debug: () => before('--debug'),
    quiet: () => before('--quiet') || before('-q'),
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    return handleError(err, ctx.debug());
  }
}

function handleError(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Help and version are not errors; commander already printed them.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      return ExitCode.OK;
    }
    // commander printed its own one-line message already.
    return ExitCode.USAGE;
  }
  if (err instanceof MeshVerifyError) {
    process.stderr.write(`mesh-verify: ${formatError(err)}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  process.stderr.write(`mesh-verify: internal error: ${(err as Error)?.message ?? String(err)}\n`);
  if (debug) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  else process.stderr.write('mesh-verify: (run with --debug for the stack trace; this is a bug, please report it)\n');
  return ExitCode.INTERNAL;
}
