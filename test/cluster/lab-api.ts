import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-verify-cluster-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
