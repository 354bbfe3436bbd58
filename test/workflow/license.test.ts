import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Issue 9 D8: package.json said Apache-2.0 but there was no LICENSE file. */
describe('LICENSE', () => {
  it('is the unmodified Apache License 2.0 text that package.json names', () => {
    const text = readFileSync(join(ROOT, 'LICENSE'));
    // sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the canonical text (also
    // Debian's /usr/share/common-licenses/Apache-2.0).
    expect(createHash('sha256').update(text).digest('hex')).toBe('cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30');
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).license).toBe('Apache-2.0');
  });
});
