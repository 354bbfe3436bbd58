import { readFileSync } from 'node:fs';

/**
 * The bundle's JSON Schema, read once from the package's `schemas/` folder (the file is the
 * single documented source; it ships with the package). Both src/bundle and dist/bundle sit two
 * levels below the package root, so the same relative URL works from TypeScript and from the build.
 */
export const BUNDLE_SCHEMA_URL = new URL('../../schemas/evidence-bundle.v1.schema.json', import.meta.url);

let cached: Record<string, unknown> | null = null;

export function bundleSchema(): Record<string, unknown> {
  cached ??= JSON.parse(readFileSync(BUNDLE_SCHEMA_URL, 'utf8')) as Record<string, unknown>;
  return cached;
}
