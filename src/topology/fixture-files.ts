import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's fixtures/ folder (from src/ or dist/: both sit two levels below the root). */
export function fixturesDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
}

export function fixturePath(...parts: string[]): string {
  return join(fixturesDir(), ...parts);
}

/** A fixture file shipped with the package (fixtures/ is in package.json `files`). */
export function readFixture(...parts: string[]): string {
  return readFileSync(fixturePath(...parts), 'utf8');
}
