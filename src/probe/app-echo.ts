import type { AppEcho } from '../bundle/types.js';

/** The reference app's JSON answer (fixtures/topology/app/app.mjs), or null when it is not one. */
export function parseAppEcho(text: string): AppEcho | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  return isAppEcho(v) ? v : null;
}

function isAppEcho(v: unknown, depth = 0): v is AppEcho {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (typeof o.service !== 'string' || typeof o.method !== 'string' || typeof o.path !== 'string') return false;
  if (!o.headers || typeof o.headers !== 'object') return false;
  if (o.upstream && typeof o.upstream === 'object' && depth < 2) {
    const body = (o.upstream as Record<string, unknown>).body;
    if (body !== null && body !== undefined && !isAppEcho(body, depth + 1)) return false;
  }
  return true;
}
