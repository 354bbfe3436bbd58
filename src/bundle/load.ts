import { InputError } from '../core/errors.js';
import { readInputText, parseJsonInput } from '../io/read-input.js';
import type { EvidenceBundle } from './types.js';
import { validateBundle } from './validate.js';
import { consistencyProblems } from './consistency.js';
import { scanFreeText } from './secret-scanner.js';

/** Parse and validate bundle text; every problem is one InputError line naming `file`. */
export function parseBundle(file: string, text: string): EvidenceBundle {
  const json = parseJsonInput(file, text);
  const result = validateBundle(json);
  if (!result.valid) throw new InputError(file, result.problem, result.fix);
  const problem = consistencyProblems(result.bundle)[0];
  if (problem) {
    throw new InputError(file, `is not consistent (check ${problem.check} failed): ${problem.message}`, 'capture the run again; an edited or merged bundle is not evidence');
  }
  return result.bundle;
}

/**
 * Read an evidence bundle file: missing, a directory, empty, not JSON, truncated JSON, another
 * kind, another schemaVersion, a schema violation (with its JSON pointer) or a secret inside all
 * end in one InputError (exit 2) naming the file.
 */
export async function loadBundle(file: string): Promise<EvidenceBundle> {
  const text = await readInputText(file, 'bundle file');
  const bundle = parseBundle(file, text);
  const secret = (await scanFreeText(bundle))[0];
  if (secret) {
    throw new InputError(file, `holds a secret (${secret.what}) at ${secret.pointer}; refusing to read it`, 'delete this file; bundles written by mesh-verify never contain secrets');
  }
  return bundle;
}
