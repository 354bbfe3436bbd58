import { join } from 'node:path';
import { analyzeBundle } from '../analyze/analyze-bundle.js';
import { saveBundle } from '../bundle/save.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { chooseTarget } from './choose-target.js';
import type { PathRunDeps } from './run-path.js';

/** The real dependencies of `mesh-verify path`. */
export function defaultPathDeps(): PathRunDeps {
  return {
    prepare: chooseTarget,
    analyze: (bundle, o) => analyzeBundle(bundle, { now: o.now }),
    saveBundle: async (file, bundle) => (await saveBundle(file, bundle)).bundle,
    async writeReports(dir, report) {
      // TODO(path): junit.xml and report.md through src/report once its path renderers land.
      const file = join(dir, 'report.json');
      await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
      return [file];
    },
    render: (report) => `${JSON.stringify(report, null, 2)}\n`,
  };
}
