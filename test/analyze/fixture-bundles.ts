import { readFileSync } from 'node:fs';
import type { EvidenceBundle, ProxyCapture } from '../../src/bundle/types.js';
import { analyzeBundle, type AnalyzeOptions } from '../../src/analyze/analyze-bundle.js';
import type { PathReport } from '../../src/analyze/types.js';

/** The committed fixture bundles (fixtures/bundles/, made by scripts/make-fixture-bundles.ts). */
export const FIXTURE_NAMES = [
  'healthy', 'plaintext-gateway-bff', 'permissive-svc', 'no-sidecar-svc', 'expired-cert', 'foreign-root', 'nlb-terminates-tls', 'stats-filtered',
] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export function fixturePath(name: string): string {
  return new URL(`../../fixtures/bundles/${name}.bundle.json`, import.meta.url).pathname;
}

/** A fresh (mutable) copy of a fixture bundle. */
export function loadFixture(name: FixtureName): EvidenceBundle {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as EvidenceBundle;
}

/** Analyze at the run's own start time, so certificate checks do not depend on today's date. */
export function analyzeAtRun(bundle: EvidenceBundle, opts: Omit<AnalyzeOptions, 'now'> = {}): PathReport {
  return analyzeBundle(bundle, { now: new Date(bundle.run.startedAt), ...opts });
}

export function statuses(r: PathReport): Record<string, string> {
  return Object.fromEntries(r.segments.map((s) => [s.id, s.status]));
}

export function segment(r: PathReport, id: string) {
  const s = r.segments.find((x) => x.id === id);
  if (!s) throw new Error(`no segment ${id}`);
  return s;
}

export function proxy(b: EvidenceBundle, id: string): ProxyCapture {
  const p = b.proxies.find((x) => x.id === id);
  if (!p) throw new Error(`no proxy ${id}`);
  return p;
}

/** Rewrite one field of every access-log line of a proxy. */
export function editAccessLog(p: ProxyCapture, edit: (entry: Record<string, unknown>) => void): void {
  p.accessLog = p.accessLog.map((line) => {
    const e = JSON.parse(line) as Record<string, unknown>;
    edit(e);
    return JSON.stringify(e);
  });
}

/** Edit a proxy's config dump as parsed JSON. */
export function editConfigDump(p: ProxyCapture, edit: (dump: { configs: Record<string, unknown>[] }) => void): void {
  const a = p.admin.configDump as { body: string };
  const dump = JSON.parse(a.body) as { configs: Record<string, unknown>[] };
  edit(dump);
  a.body = JSON.stringify(dump);
}
