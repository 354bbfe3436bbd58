import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { BUNDLE_KIND, BUNDLE_SCHEMA_VERSION, type EvidenceBundle } from './types.js';
import { bundleSchema } from './schema-file.js';
import { findSecrets } from './secrets.js';
import { quote } from './consistency.js';

export type BundleValidation =
  | { valid: true; bundle: EvidenceBundle }
  | { valid: false; problem: string; pointer: string | null; fix?: string };

let compiled: ValidateFunction | null = null;
function validator(): ValidateFunction {
  if (!compiled) {
    // The schema is ours and checked against the meta-schema by a test; skipping that check
    // here (and code optimisation) halves the compile time on every CLI start.
    const ajv = new Ajv2020({ allErrors: false, strict: false, validateSchema: false, code: { optimize: false } });
    compiled = ajv.compile(bundleSchema());
  }
  return compiled;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeSchemaError(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') return `missing required field "${String(p.missingProperty)}"`;
  if (e.keyword === 'enum') return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'const') return `must be ${JSON.stringify(p.allowedValue)}`;
  return e.message ?? e.keyword;
}

/**
 * Check a parsed JSON document against the evidence bundle v1 contract: kind, schemaVersion,
 * the JSON Schema, and the secret guard (no private keys, no bearer tokens). Pure.
 */
export function validateBundle(json: unknown): BundleValidation {
  if (!isObject(json)) {
    return { valid: false, pointer: '', problem: `is not an evidence bundle (expected a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json})` };
  }
  if (json.kind !== BUNDLE_KIND) {
    if (Array.isArray(json.configs)) {
      return { valid: false, pointer: '/kind', problem: 'is an Envoy config dump, not an evidence bundle', fix: 'use `mesh-verify inspect --file` for config dumps' };
    }
    const kind = json.kind === undefined ? 'no "kind" field' : `kind is ${typeof json.kind === 'string' ? quote(json.kind) : `a ${Array.isArray(json.kind) ? 'list' : typeof json.kind}`}`;
    return { valid: false, pointer: '/kind', problem: `is not a mesh-verify evidence bundle (${kind}; expected "${BUNDLE_KIND}")` };
  }
  if (json.schemaVersion !== BUNDLE_SCHEMA_VERSION) {
    const v = json.schemaVersion === undefined ? 'missing' : typeof json.schemaVersion === 'number' ? String(json.schemaVersion) : typeof json.schemaVersion === 'string' ? quote(json.schemaVersion) : `a ${typeof json.schemaVersion}`;
    return {
      valid: false, pointer: '/schemaVersion',
      problem: `bundle schemaVersion ${v} is not supported by this mesh-verify (reads ${BUNDLE_SCHEMA_VERSION})`,
      fix: 'analyze it with the mesh-verify version that wrote it',
    };
  }
  const validate = validator();
  if (!validate(json)) {
    const err = (validate.errors ?? [])[0];
    const pointer = err?.instancePath ?? '';
    return {
      valid: false, pointer,
      problem: `does not match the evidence bundle v1 schema at ${pointer === '' ? '/' : pointer}: ${err ? describeSchemaError(err) : 'invalid'}`,
    };
  }
  const secrets = findSecrets(json);
  if (secrets.length > 0) {
    const s = secrets[0];
    return {
      valid: false, pointer: s.pointer,
      problem: `holds ${s.kind === 'private-key' ? 'a private key' : s.what === 'bearer token' ? 'a bearer token' : `a secret (${s.what})`} at ${s.pointer}; refusing to read it`,
      fix: 'delete this file; bundles written by mesh-verify never contain secrets',
    };
  }
  return { valid: true, bundle: json as unknown as EvidenceBundle };
}
