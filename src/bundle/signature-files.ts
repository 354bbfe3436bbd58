import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from '../core/errors.js';
import { readInputText, parseJsonInput } from '../io/read-input.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { TOOL_NAME, VERSION } from '../version.js';
import { parseBundle } from './load.js';
import {
  ENVELOPE_SUFFIX, KeyFormatError, asEnvelope, bundleStatement, parseSigningKey, parseVerificationKey, signStatement, verifyEnvelope,
  type DsseEnvelope, type SignatureCheck, type SigningKey, type VerificationKey,
} from './dsse.js';

/**
 * The files of a signed bundle: `run.bundle.json` and its envelope `run.bundle.json.dsse.json`.
 * Either may be named on the command line; the other is found beside it.
 */
export function signedPair(file: string): { bundle: string; envelope: string } {
  if (file.endsWith(ENVELOPE_SUFFIX)) return { bundle: file.slice(0, -ENVELOPE_SUFFIX.length), envelope: file };
  return { bundle: file, envelope: `${file}${ENVELOPE_SUFFIX}` };
}

async function exists(file: string): Promise<boolean> {
  try { await stat(file); return true; } catch { return false; }
}

/** A file's exact bytes (the digest is over these), with readInputText's clear errors. */
async function readBytes(file: string, what: string): Promise<Buffer> {
  await readInputText(file, what);
  return readFile(file);
}

/** A key file, parsed by `parse`; a malformed key is an input error naming the file. */
async function readKeyFile<K>(file: string, flag: string, parse: (pem: string) => K): Promise<K> {
  const pem = await readInputText(file, `${flag} key file`);
  try {
    return parse(pem);
  } catch (err) {
    if (err instanceof KeyFormatError) throw new InputError(file, err.message, err.fix);
    throw err;
  }
}

export function readSigningKey(file: string, flag = '--sign-key'): Promise<SigningKey> {
  return readKeyFile(file, flag, parseSigningKey);
}

export function readVerificationKey(file: string, flag = '--key'): Promise<VerificationKey> {
  return readKeyFile(file, flag, parseVerificationKey);
}

/** Sign a bundle file that was just written: writes `<bundle>.dsse.json` and returns its path. */
export async function signBundleFile(bundleFile: string, key: SigningKey, now: Date = new Date()): Promise<string> {
  const bytes = await readBytes(bundleFile, 'bundle file');
  const bundle = parseBundle(bundleFile, bytes.toString('utf8'));
  const statement = bundleStatement(basename(bundleFile), bytes, bundle, { name: TOOL_NAME, version: VERSION }, now);
  const envelope = signStatement(statement, key);
  const out = signedPair(bundleFile).envelope;
  await writeFileAtomic(out, `${JSON.stringify(envelope, null, 2)}\n`);
  return out;
}

/** Read an envelope file; a missing one is "not signed" (exit 2), a malformed one unreadable (exit 2). */
export async function readEnvelope(file: string, bundleFile: string): Promise<DsseEnvelope> {
  if (!(await exists(file))) {
    throw new InputError(bundleFile, `is not signed (no ${basename(file)} beside it)`, 'sign it with `mesh-verify path --sign-key KEY --bundle FILE`');
  }
  const json = parseJsonInput(file, await readInputText(file, 'signature envelope'));
  const env = asEnvelope(json);
  if (typeof env === 'string') throw new InputError(file, env);
  return env;
}

/** Does the bundle have an envelope beside it? */
export async function hasEnvelope(file: string): Promise<boolean> {
  return exists(signedPair(file).envelope);
}

export interface BundleSignatureResult {
  bundleFile: string;
  envelopeFile: string;
  check: SignatureCheck;
}

/**
 * Verify a signed bundle offline. Unsigned, unreadable or malformed files and keys throw an
 * InputError (exit 2); a changed byte or a wrong key is a `tampered` result (exit 1), an expired
 * certificate key a `key-expired` one (exit 3).
 */
export async function checkBundleSignature(file: string, key: VerificationKey, now: Date): Promise<BundleSignatureResult> {
  const pair = signedPair(file);
  const bytes = await readBytes(pair.bundle, 'bundle file');
  const envelope = await readEnvelope(pair.envelope, pair.bundle);
  return { bundleFile: pair.bundle, envelopeFile: pair.envelope, check: verifyEnvelope(envelope, bytes, key, now) };
}
