import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../errors.js';

// PLACEHOLDER: replaced by the issue that builds `mesh-verify audit`.
export function registerAudit(program: Command, _ctx: CliContext): void {
  program
    .command('audit')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('`audit` is not built yet');
    });
}
