import type { InspectResult } from '../inspect/types.js';

/** `mesh-verify inspect -o json`: the InspectResult as indented JSON (the public contract). */
export function renderPostureJson(r: InspectResult): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
