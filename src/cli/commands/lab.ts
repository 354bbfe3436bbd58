import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../errors.js';

// PLACEHOLDER: replaced by the issue that builds `mesh-verify lab`.
export function registerLab(program: Command, _ctx: CliContext): void {
  program
    .command('lab')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('`lab` is not built yet');
    });
}
