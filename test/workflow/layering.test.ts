import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Data flows one way: no layer below the command line imports it (errors and progress live in src/core). */
describe('layering', () => {
  it('nothing outside src/cli imports src/cli', () => {
    const offenders = files(SRC)
      .filter((f) => !relative(SRC, f).startsWith('cli/'))
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/from '([^']+)'|import\('([^']+)'\)/g)]
        .map((m) => m[1] ?? m[2])
        .filter((spec) => spec.startsWith('.') && relative(SRC, join(f, '..', spec)).startsWith('cli/'))
        .map((spec) => `${relative(SRC, f)} -> ${spec}`));
    expect(offenders).toEqual([]);
  });

  it('src/core imports no other layer', () => {
    const offenders = files(join(SRC, 'core')).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'/g)]
      .map((m) => m[1]).filter((spec) => !relative(SRC, join(f, '..', spec)).startsWith('core/')).map((spec) => `${relative(SRC, f)} -> ${spec}`));
    expect(offenders).toEqual([]);
  });
});
