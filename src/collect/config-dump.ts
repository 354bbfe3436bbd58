import type { AdminText } from '../bundle/types.js';
import { CONFIG_DUMP_SECTIONS, FULL_CONFIG_DUMP_PATH, configDumpPath } from './admin-endpoints.js';
import { scrubSecrets } from '../bundle/secrets.js';
import { ResponseTooLargeError } from '../cluster/bounded-http.js';

export type AdminFetch = (path: string) => Promise<{ status: number; body: string }>;

export interface ConfigDumpResult {
  text: AdminText | null;
  /** One line per section that could not be read. */
  errors: string[];
}

/**
 * Fetch only the config_dump sections the analyzer reads (bootstrap node, clusters, endpoints,
 * listeners, secrets), one masked request per dump type, and merge them into one
 * `{configs: [...]}` document in Envoy's order. From each answer only the dump of the asked type
 * is kept, so a proxy that ignores `mask` still yields one copy of each. When every masked
 * request is refused (an Envoy without mask support), the whole dump is fetched instead.
 */
export async function fetchConfigDump(fetch: AdminFetch, now: () => Date): Promise<ConfigDumpResult> {
  const errors: string[] = [];
  const configs: unknown[] = [];
  const requests: string[] = [];
  let refused = 0;
  const answers = await Promise.all(CONFIG_DUMP_SECTIONS.map(async (section) => {
    const path = configDumpPath(section);
    try {
      return { section, path, res: await fetch(path), err: null as string | null };
    } catch (err) {
      if (err instanceof ResponseTooLargeError) throw err;
      return { section, path, res: null, err: (err as Error).message };
    }
  }));
  for (const { section, path, res, err } of answers) {
    if (!res) { errors.push(`${path}: ${err}`); continue; }
    if (res.status !== 200) {
      refused += 1;
      errors.push(`${path}: HTTP ${res.status}: ${res.body.trim().slice(0, 160)}`);
      continue;
    }
    const doc = parseDump(res.body);
    if (!doc) { errors.push(`${path}: the answer is not a config dump (JSON with configs[])`); continue; }
    const mine = doc.configs.filter((c) => typeOf(c) === section.type);
    configs.push(...mine);
    requests.push(path);
  }
  if (refused === CONFIG_DUMP_SECTIONS.length) {
    try {
      const res = await fetch(FULL_CONFIG_DUMP_PATH);
      const doc = res.status === 200 ? parseDump(res.body) : null;
      if (doc) return { text: adminJson(FULL_CONFIG_DUMP_PATH, doc, now), errors: [] };
      errors.push(`${FULL_CONFIG_DUMP_PATH}: HTTP ${res.status}: ${res.body.trim().slice(0, 160)}`);
    } catch (err) {
      if (err instanceof ResponseTooLargeError) throw err;
      errors.push(`${FULL_CONFIG_DUMP_PATH}: ${(err as Error).message}`);
    }
    return { text: null, errors };
  }
  if (requests.length === 0) return { text: null, errors };
  return { text: adminJson(requests.join(' + '), { configs }, now), errors };
}

function adminJson(request: string, doc: unknown, now: () => Date): AdminText {
  // Scrubbed as text: the secret guard recognises `"private_key": {"inline_bytes": ...}` in JSON text.
  return { request, contentType: 'json', body: scrubSecrets(JSON.stringify(doc)).value, capturedAt: now().toISOString() };
}

function parseDump(body: string): { configs: unknown[] } | null {
  try {
    const v = JSON.parse(body) as { configs?: unknown };
    return v && Array.isArray(v.configs) ? (v as { configs: unknown[] }) : null;
  } catch {
    return null;
  }
}

function typeOf(c: unknown): string | null {
  const t = (c as { '@type'?: unknown } | null)?.['@type'];
  return typeof t === 'string' ? t : null;
}
