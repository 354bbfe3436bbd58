import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/**
 * The team's real Envoy/Istio captures live beside the repository in ../shared/reference
 * (never copied into the project). Tests that need them use `describe.skipIf(!HAVE_REFERENCE)`
 * and say why in the test name when skipped.
 */
export const REFERENCE_DIR = fileURLToPath(new URL('../../../shared/reference/', import.meta.url));
export const HAVE_REFERENCE = existsSync(join(REFERENCE_DIR, 'README.md'));
export const SKIP_REASON = 'skipped: ../shared/reference (real Envoy captures) is not present beside the repository';

export function referencePath(rel: string): string {
  return join(REFERENCE_DIR, rel);
}
export function readReferenceText(rel: string): string {
  return readFileSync(referencePath(rel), 'utf8');
}
export function readReferenceJson(rel: string): unknown {
  return JSON.parse(readReferenceText(rel));
}
