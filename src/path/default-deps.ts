import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { chooseTarget } from './choose-target.js';
import type { PathRunDeps } from './run-path.js';
import type { TlsPolicy } from '../analyze/tls-policy.js';

/**
 * The real dependencies of `mesh-verify path`. The analyzer, the bundle validator and the
 * renderers are imported when first used, so that an environment error is reported fast.
 */
export function defaultPathDeps(opts: { verbose?: boolean; width?: number | null; tlsPolicy?: TlsPolicy } = {}): PathRunDeps {
  const render = async () => (await import('../report/path-report.js')).renderPathReport;
  let renderer: Awaited<ReturnType<typeof render>> | null = null;
  return {
    prepare: chooseTarget,
    analyze: async (bundle, o) => (await import('../analyze/analyze-bundle.js')).analyzeBundle(bundle, { now: o.now, ...(opts.tlsPolicy ? { tlsPolicy: opts.tlsPolicy } : {}) }),
    saveBundle: async (file, bundle) => (await (await import('../bundle/save.js')).saveBundle(file, bundle)).bundle,
    async writeReports(dir, report) {
      renderer ??= await render();
      const files: [string, 'json' | 'junit' | 'markdown'][] = [['report.json', 'json'], ['junit.xml', 'junit'], ['report.md', 'markdown']];
      const written: string[] = [];
      for (const [name, format] of files) {
        const file = join(dir, name);
        await writeFileAtomic(file, renderer(report, format));
        written.push(file);
      }
      return written;
    },
    // stdout: --verbose lists every evidence item, as `analyze --verbose` does.
    render: async (report, format) => (renderer ??= await render())(report, format, { verbose: opts.verbose ?? false, width: opts.width ?? null }),
  };
}
