import type { KubeObject } from './object-store.js';

/** One requirement of a label selector (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`). */
interface Requirement { key: string; op: 'eq' | 'ne' | 'in' | 'notin' | 'exists' | '!exists'; values: string[] }

export class SelectorError extends Error {}

/** Split on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

export function parseLabelSelector(selector: string): Requirement[] {
  return splitTerms(selector).map((term) => {
    let m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()).filter(Boolean) };
    m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) return { key: m[1], op: m[2] === '!=' ? 'ne' : 'eq', values: [m[3]] };
    m = /^!\s*([^\s!=]+)$/.exec(term);
    if (m) return { key: m[1], op: '!exists', values: [] };
    m = /^([^\s!=()]+)$/.exec(term);
    if (m) return { key: m[1], op: 'exists', values: [] };
    throw new SelectorError(`unable to parse requirement: ${term}`);
  });
}

export function matchesLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'eq': return has && v === r.values[0];
      case 'ne': return !has || v !== r.values[0];
      case 'in': return has && r.values.includes(v);
      case 'notin': return !has || !r.values.includes(v);
      case 'exists': return has;
      case '!exists': return !has;
    }
  });
}

/** A label selector in the LabelSelector object form (matchLabels/matchExpressions). */
export function matchesLabelSelectorObject(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({ key, op: 'eq', values: [v] }));
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' } as const)[e.operator as 'In'];
    if (op) reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return matchesLabels(reqs, labels);
}

function fieldValue(obj: KubeObject, path: string): string | undefined {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

/** Field selectors: `metadata.name=x`, `metadata.namespace!=y`, `status.phase=Running`, `spec.nodeName=`. */
export function parseFieldSelector(selector: string): (obj: KubeObject) => boolean {
  const terms = splitTerms(selector).map((term) => {
    const m = /^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorError(`invalid field selector: ${term}`);
    return { path: m[1], ne: m[2] === '!=', value: m[3] };
  });
  return (obj) => terms.every((t) => ((fieldValue(obj, t.path) ?? '') === t.value) !== t.ne);
}
