import type { PathReport } from '../analyze/types.js';

/** The PathReport as JSON: the machine contract of `mesh-verify analyze -o json`. */
export function renderPathJson(r: PathReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
