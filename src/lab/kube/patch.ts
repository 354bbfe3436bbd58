import { isPlainObject, itemKey, listMapKeys } from './list-keys.js';
import { Status } from './status.js';

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else replaces. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

/**
 * Strategic merge patch, the basics: like a merge patch, but associative lists (containers by
 * name, ports by port...) merge item by item, and an item with `$patch: delete` is removed.
 */
export function strategicMergePatch(target: unknown, patch: unknown, field = ''): unknown {
  if (Array.isArray(patch)) {
    const keys = Array.isArray(target) ? listMapKeys(field, [...target, ...patch]) : null;
    if (!keys || !Array.isArray(target)) return structuredClone(patch).filter((i: unknown) => !(isPlainObject(i) && i.$patch === 'delete'));
    const out = target.map((i) => structuredClone(i) as Record<string, unknown>);
    for (const p of patch as Record<string, unknown>[]) {
      const idx = out.findIndex((i) => itemKey(i, keys) === itemKey(p, keys));
      if (p.$patch === 'delete') { if (idx >= 0) out.splice(idx, 1); continue; }
      if (idx >= 0) out[idx] = strategicMergePatch(out[idx], p) as Record<string, unknown>;
      else out.push(structuredClone(p));
    }
    return out;
  }
  if (!isPlainObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return structuredClone(rest);
  }
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = strategicMergePatch(out[k], v, k);
  }
  return out;
}

interface JsonPatchOp { op: string; path: string; value?: unknown; from?: string }

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw Status.badRequest(`invalid JSON pointer: ${path}`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, parts: string[], path: string): [Record<string, unknown> | unknown[], string] {
  let cur: unknown = doc;
  for (const p of parts.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isPlainObject(cur) ? cur[p] : undefined;
    if (cur === undefined) throw Status.invalid('json patch', path, `doc is missing path: "${path}"`);
  }
  return [cur as Record<string, unknown> | unknown[], parts[parts.length - 1]];
}

/** RFC 6902 JSON patch: add, remove, replace, test, copy, move. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw Status.badRequest('json patch must be an array of operations');
  let out = structuredClone(doc);
  const get = (path: string): unknown => {
    let cur: unknown = out;
    for (const p of pointer(path)) cur = Array.isArray(cur) ? cur[Number(p)] : isPlainObject(cur) ? cur[p] : undefined;
    return cur;
  };
  const remove = (path: string): void => {
    const [parent, last] = parentOf(out, pointer(path), path);
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else if (last in parent) delete parent[last];
    else throw Status.invalid('json patch', path, `unable to remove nonexistent key: ${last}`);
  };
  const add = (path: string, value: unknown, replace: boolean): void => {
    const parts = pointer(path);
    if (parts.length === 0) { out = structuredClone(value); return; }
    const [parent, last] = parentOf(out, parts, path);
    if (Array.isArray(parent)) {
      const idx = last === '-' ? parent.length : Number(last);
      if (replace) parent[idx] = structuredClone(value);
      else parent.splice(idx, 0, structuredClone(value));
    } else parent[last] = structuredClone(value);
  };
  for (const op of ops as JsonPatchOp[]) {
    switch (op.op) {
      case 'add': add(op.path, op.value, false); break;
      case 'replace': if (get(op.path) === undefined) throw Status.invalid('json patch', op.path, `replace operation does not apply: doc is missing key: ${op.path}`); add(op.path, op.value, true); break;
      case 'remove': remove(op.path); break;
      case 'test': if (JSON.stringify(get(op.path)) !== JSON.stringify(op.value)) throw Status.invalid('json patch', op.path, 'testing value failed'); break;
      case 'copy': add(op.path, get(op.from ?? ''), false); break;
      case 'move': { const v = get(op.from ?? ''); remove(op.from ?? ''); add(op.path, v, false); break; }
      default: throw Status.badRequest(`unexpected json patch operation ${op.op}`);
    }
  }
  return out;
}
