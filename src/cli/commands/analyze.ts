import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../errors.js';

// PLACEHOLDER: replaced by the issue that builds `mesh-verify analyze`.
export function registerAnalyze(program: Command, _ctx: CliContext): void {
  program
    .command('analyze')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('`analyze` is not built yet');
    });
}
