import { isPlainObject, itemKey, listMapKeys } from './list-keys.js';
import type { KubeObject, ManagedFieldsEntry } from './object-store.js';
import { Status } from './status.js';

/**
 * Server-side apply, the parts clients rely on: create-or-merge, field ownership per manager
 * recorded in `metadata.managedFields` (FieldsV1), fields a manager stops applying are removed,
 * and a conflict (409) when another manager owns a field the apply would change, unless `force`.
 */
type FieldPath = string[];

const SKIP_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp']);

/** Leaf paths and associative-list items ('.') of an object, as FieldsV1 path elements. */
export function fieldPaths(value: unknown, prefix: FieldPath = [], top = true): FieldPath[] {
  if (!isPlainObject(value)) return [prefix];
  const out: FieldPath[] = [];
  const entries = Object.entries(value).filter(([k]) => !top || (k !== 'apiVersion' && k !== 'kind' && k !== 'status'));
  if (entries.length === 0 && prefix.length > 0) return [prefix];
  for (const [k, v] of entries) {
    if (top && k === 'metadata' && isPlainObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!SKIP_META.has(mk)) out.push(...fieldPaths(mv, ['f:metadata', `f:${mk}`], false));
      continue;
    }
    const p = [...prefix, `f:${k}`];
    if (Array.isArray(v)) {
      const keys = listMapKeys(k, v);
      if (!keys) { out.push(p); continue; }
      for (const item of v as Record<string, unknown>[]) {
        const ip = [...p, `k:${itemKey(item, keys)}`];
        out.push(ip);
        out.push(...fieldPaths(item, ip, false).filter((c) => c.length > ip.length));
      }
    } else out.push(...fieldPaths(v, p, false));
  }
  return out;
}

function step(cur: unknown, el: string): unknown {
  if (el.startsWith('f:')) return isPlainObject(cur) ? cur[el.slice(2)] : undefined;
  if (el.startsWith('k:') && Array.isArray(cur)) {
    const want = JSON.parse(el.slice(2)) as Record<string, unknown>;
    return cur.find((i) => isPlainObject(i) && Object.entries(want).every(([k, v]) => JSON.stringify(i[k]) === JSON.stringify(v)));
  }
  return undefined;
}

export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur = obj;
  for (const el of path) { cur = step(cur, el); if (cur === undefined) return undefined; }
  return cur;
}

function removeAt(obj: unknown, path: FieldPath): void {
  const parent = valueAt(obj, path.slice(0, -1));
  const last = path[path.length - 1];
  if (last.startsWith('f:') && isPlainObject(parent)) delete parent[last.slice(2)];
  else if (last.startsWith('k:') && Array.isArray(parent)) {
    const item = step(parent, last);
    const idx = parent.indexOf(item);
    if (idx >= 0) parent.splice(idx, 1);
  }
}

/** Deep merge of an applied configuration into the live object (associative lists by key). */
export function mergeApplied(live: unknown, applied: unknown, field = ''): unknown {
  if (Array.isArray(applied)) {
    const keys = Array.isArray(live) ? listMapKeys(field, [...live, ...applied]) : null;
    if (!keys || !Array.isArray(live)) return structuredClone(applied);
    const out = live.map((i) => structuredClone(i) as Record<string, unknown>);
    for (const a of applied as Record<string, unknown>[]) {
      const idx = out.findIndex((i) => itemKey(i, keys) === itemKey(a, keys));
      if (idx >= 0) out[idx] = mergeApplied(out[idx], a) as Record<string, unknown>;
      else out.push(structuredClone(a));
    }
    return out;
  }
  if (!isPlainObject(applied)) return structuredClone(applied);
  const out: Record<string, unknown> = isPlainObject(live) ? { ...live } : {};
  for (const [k, v] of Object.entries(applied)) {
    if (v === null) continue;
    out[k] = mergeApplied(out[k], v, k);
  }
  return out;
}

export function toFieldsV1(paths: FieldPath[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let cur = root;
    for (const el of p) cur = (cur[el] ??= {}) as Record<string, unknown>;
    if (p[p.length - 1]?.startsWith('k:')) cur['.'] = {};
  }
  return root;
}

export function fromFieldsV1(tree: Record<string, unknown>, prefix: FieldPath = []): FieldPath[] {
  const out: FieldPath[] = [];
  const children = Object.entries(tree).filter(([k]) => k !== '.');
  if ('.' in tree || (children.length === 0 && prefix.length > 0)) out.push(prefix);
  for (const [k, v] of children) out.push(...fromFieldsV1(isPlainObject(v) ? v : {}, [...prefix, k]));
  return out;
}

const pkey = (p: FieldPath) => JSON.stringify(p);
const isPrefix = (a: FieldPath, b: FieldPath) => a.length <= b.length && a.every((el, i) => b[i] === el);

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export interface ApplyInput {
  live: KubeObject | undefined;
  applied: KubeObject;
  manager: string;
  force: boolean;
  apiVersion: string;
}

export function serverSideApply({ live, applied, manager, force, apiVersion }: ApplyInput): KubeObject {
  const appliedPaths = fieldPaths(applied);
  const entries: ManagedFieldsEntry[] = structuredClone(live?.metadata.managedFields ?? []);
  const mine = entries.find((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource);
  const prevPaths = mine ? fromFieldsV1(mine.fieldsV1) : [];
  const appliedSet = new Set(appliedPaths.map(pkey));
  const others = entries.filter((e) => e !== mine && !e.subresource).map((e) => ({ entry: e, paths: fromFieldsV1(e.fieldsV1) }));

  // Conflicts: another manager owns a field this apply sets to a different value.
  if (live) {
    const conflicts: { field: string; message: string; manager: string }[] = [];
    for (const o of others) {
      for (const p of o.paths) {
        if (!appliedSet.has(pkey(p)) || p[p.length - 1]?.startsWith('k:')) continue;
        const a = valueAt(applied, p.map((el) => el));
        const l = valueAt(live, p);
        if (JSON.stringify(a) === JSON.stringify(l)) continue;
        if (isPlainObject(a) && isPlainObject(l)) continue;
        conflicts.push({ field: '.' + p.map((el) => el.replace(/^f:/, '').replace(/^k:(.*)$/, '[$1]')).join('.').replace(/\.\[/g, '['), message: `conflict with "${o.entry.manager}"`, manager: o.entry.manager });
      }
    }
    if (conflicts.length > 0 && !force) {
      const plural = conflicts.length === 1 ? 'conflict' : `${conflicts.length} conflicts`;
      throw Status.applyConflict(`Apply failed with ${plural}: ${conflicts.map((c) => `${c.message}: ${c.field}`).join('\n')}`, conflicts);
    }
    if (force) {
      for (const o of others) o.paths = o.paths.filter((p) => !appliedSet.has(pkey(p)) || JSON.stringify(valueAt(applied, p)) === JSON.stringify(valueAt(live, p)));
    }
  }

  let next = (live ? mergeApplied(live, applied) : structuredClone(applied)) as KubeObject;
  // Fields this manager applied before and no longer does, and nobody else owns: removed.
  const dropped = prevPaths.filter((p) => !appliedSet.has(pkey(p)) && !others.some((o) => o.paths.some((q) => isPrefix(p, q))));
  for (const p of dropped.sort((a, b) => b.length - a.length)) removeAt(next, p);

  next = { ...next, metadata: { ...next.metadata } };
  const kept = others.filter((o) => o.paths.length > 0).map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.paths) }));
  const subresourceEntries = entries.filter((e) => e.subresource);
  next.metadata.managedFields = [
    ...kept,
    { manager, operation: 'Apply', apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(appliedPaths) },
    ...subresourceEntries,
  ];
  return next;
}

/**
 * Ownership after a non-apply write (create, update, patch): the writer owns what it changed,
 * and those fields leave the other managers' sets.
 */
export function recordUpdate(prev: KubeObject | undefined, next: KubeObject, manager: string, apiVersion: string): KubeObject {
  const before = new Map((prev ? fieldPaths(prev) : []).map((p) => [pkey(p), JSON.stringify(valueAt(prev, p))]));
  const changed = fieldPaths(next).filter((p) => before.get(pkey(p)) !== JSON.stringify(valueAt(next, p)));
  const changedSet = new Set(changed.map(pkey));
  const entries: ManagedFieldsEntry[] = structuredClone(prev?.metadata.managedFields ?? next.metadata.managedFields ?? []);
  const out: ManagedFieldsEntry[] = [];
  let mine: FieldPath[] = [];
  for (const e of entries) {
    const paths = fromFieldsV1(e.fieldsV1);
    if (e.manager === manager && e.operation === 'Update' && !e.subresource) { mine = paths; continue; }
    const left = paths.filter((p) => !changedSet.has(pkey(p)) && valueAt(next, p) !== undefined);
    if (left.length > 0) out.push({ ...e, fieldsV1: toFieldsV1(left) });
  }
  const all = new Map([...mine, ...changed].filter((p) => valueAt(next, p) !== undefined).map((p) => [pkey(p), p]));
  if (all.size > 0) out.push({ manager, operation: 'Update', apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1([...all.values()]) });
  return { ...next, metadata: { ...next.metadata, managedFields: out } };
}
