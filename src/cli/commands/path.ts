import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../errors.js';

// PLACEHOLDER: replaced by the issue that builds `mesh-verify path`, `up` and `down`.
function placeholder(program: Command, name: string): void {
  program.command(name).description('(not built yet)').allowUnknownOption().action(() => {
    throw new UsageError(`\`${name}\` is not built yet`);
  });
}
export function registerPath(program: Command, _ctx: CliContext): void { placeholder(program, 'path'); }
export function registerUp(program: Command, _ctx: CliContext): void { placeholder(program, 'up'); }
export function registerDown(program: Command, _ctx: CliContext): void { placeholder(program, 'down'); }
