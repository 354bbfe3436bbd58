import type { Reporter, TestModule } from 'vitest/node';

type Vitest = Parameters<NonNullable<Reporter['onInit']>>[0];

/**
 * Vitest's default reporter prints only "(N tests | M skipped)" for a passing file: which tests
 * were skipped, and why, is not shown. This reporter lists every skipped test after the run with
 * its name (the project's skip conditions carry the reason in the name, e.g. "... (skipped:
 * kubectl is not installed)") and the note of a runtime `ctx.skip(note)`. Under a -t filter only
 * the tests with a note are listed (the others are the filter's doing).
 */
export default class SkipReasonsReporter implements Reporter {
  private filtered = false;
  private write: (line: string) => void = (line) => { process.stdout.write(`${line}\n`); };

  onInit(vitest: Vitest): void {
    this.filtered = Boolean(vitest.config.testNamePattern);
    this.write = (line) => vitest.logger.log(line);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const lines = skippedLines(modules, this.filtered);
    if (lines.length === 0) return;
    this.write(`\n Skipped tests (${lines.length}), with the reason:`);
    for (const l of lines) this.write(`   ${l}`);
  }
}

/** One line per skipped test (todo excluded): file > name [note]. */
export function skippedLines(modules: ReadonlyArray<TestModule>, onlyWithNote: boolean): string[] {
  const out: string[] = [];
  for (const m of modules) {
    for (const t of m.children.allTests()) {
      const r = t.result();
      if (r.state !== 'skipped' || t.options.mode === 'todo') continue;
      const note = r.note ? ` [${r.note}]` : '';
      if (onlyWithNote && !note) continue;
      out.push(`${m.relativeModuleId} > ${t.fullName}${note}`);
    }
  }
  return out;
}
