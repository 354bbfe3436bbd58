import type { ProcessRunner, RunOptions, RunResult } from '../../src/cluster/process-runner.js';
import { CommandNotFoundError } from '../../src/cluster/process-runner.js';

export interface FakeCall { command: string; args: string[]; opts?: RunOptions }
type Answer = Partial<RunResult> | 'missing' | ((args: string[]) => Partial<RunResult> | 'missing');

/**
 * A fake of kind/istioctl/docker: answers keyed by "command first-args..." prefix (longest match
 * wins); a command without an answer is "not installed". Records every call.
 */
export function fakeRunner(answers: Record<string, Answer>): { runner: ProcessRunner; calls: FakeCall[] } {
  const calls: FakeCall[] = [];
  const runner: ProcessRunner = async (command, args, opts) => {
    calls.push({ command, args, opts });
    const line = [command, ...args].join(' ');
    const keyMatch = Object.keys(answers).filter((k) => line === k || line.startsWith(k + ' ')).sort((a, b) => b.length - a.length)[0];
    if (keyMatch === undefined) throw new CommandNotFoundError(command);
    let a = answers[keyMatch];
    if (typeof a === 'function') a = a(args);
    if (a === 'missing') throw new CommandNotFoundError(command);
    for (const l of `${a.stderr ?? ''}\n${a.stdout ?? ''}`.split('\n')) if (l.trim()) opts?.onLine?.(l.trim());
    return { code: a.code ?? 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
  };
  return { runner, calls };
}
