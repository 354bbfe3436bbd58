import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../errors.js';

// PLACEHOLDER: replaced by the issue that builds `mesh-verify inspect`.
export function registerInspect(program: Command, _ctx: CliContext): void {
  program
    .command('inspect')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('`inspect` is not built yet');
    });
}
