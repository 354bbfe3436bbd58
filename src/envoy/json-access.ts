/** Narrowing helpers for untyped JSON read from Envoy's admin API. */
export type JsonRecord = Record<string, unknown>;

export function asRecord(v: unknown): JsonRecord | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonRecord) : null;
}

const NONE: readonly unknown[] = Object.freeze([]);

/** The list itself, or a shared empty (frozen) list: iterate or map it, never mutate or return it. */
export function asArray(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : NONE;
}

export function asString(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** proto3 JSON prints int64/uint64 as strings; accept both. */
export function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** google.protobuf.BoolValue appears as `true` or `{ "value": true }`. */
export function asBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  const r = asRecord(v);
  return r ? r.value === true : false;
}

/**
 * Admin endpoints that answer text by default and JSON with `?format=json` (/stats, /clusters):
 * a body that starts as a JSON object goes to `fromJson`; when it does not parse (or `fromJson`
 * throws), and for anything else, the text goes to `fromText`.
 */
export function parseJsonOrText<T>(body: string, fromJson: (json: unknown) => T, fromText: (text: string) => T): T {
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return fromJson(JSON.parse(trimmed));
    } catch {
      // not JSON after all: the text parser
    }
  }
  return fromText(body);
}
