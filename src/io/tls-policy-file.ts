import { stat } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import { readInputText } from './read-input.js';
import { PolicyFormatError, parsePolicyText, type TlsPolicy } from '../analyze/tls-policy.js';
import { BUILTIN_POLICY_NAMES, builtinPolicy, isBuiltinPolicyName } from '../analyze/tls-policies-builtin.js';

/**
 * `--tls-policy NAME|FILE`: a built-in policy by name (modern, fips-140-3, pq-hybrid), else a
 * YAML or JSON policy file. Every problem is one InputError (exit 2) naming the file.
 */
export async function loadTlsPolicy(arg: string): Promise<TlsPolicy> {
  if (isBuiltinPolicyName(arg)) return builtinPolicy(arg);
  const isFile = await stat(arg).then(() => true, () => false);
  if (!isFile && !/[./\\]/.test(arg)) {
    throw new InputError(arg, 'is neither a built-in TLS policy nor a file', `use one of ${BUILTIN_POLICY_NAMES.join(', ')}, or a policy file`);
  }
  const text = await readInputText(arg, 'TLS policy file');
  try {
    return parsePolicyText(text);
  } catch (err) {
    if (err instanceof PolicyFormatError) throw new InputError(arg, err.message, err.fix);
    throw err;
  }
}
