import type { AuditReport } from '../analyze/audit/types.js';

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' }[c]!));
}

/**
 * JUnit XML for CI: one test suite per finding code; error findings are failures, warnings and
 * infos are passing cases carrying their text in system-out; unreadable proxies are errors.
 */
export function renderAuditJunit(r: AuditReport): string {
  const byCode = new Map<string, AuditReport['findings']>();
  for (const f of r.findings) byCode.set(f.code, [...(byCode.get(f.code) ?? []), f]);
  const suites: string[] = [];
  for (const [code, list] of byCode) {
    const failures = list.filter((f) => f.severity === 'error').length;
    const errors = list.filter((f) => f.code === 'proxy-unreadable').length;
    const cases = list.map((f) => {
      const body = `${f.message}${f.fix ? `\nfix: ${f.fix}` : ''}${f.evidence.map((e) => `\n${e.source} ${e.subject}: ${e.observed}${e.expected ? ` (expected ${e.expected})` : ''}`).join('')}`;
      const inner = f.code === 'proxy-unreadable' ? `<error message="${xml(f.message)}">${xml(body)}</error>`
        : f.severity === 'error' ? `<failure message="${xml(f.message)}" type="${xml(f.code)}">${xml(body)}</failure>`
          : `<system-out>${xml(`${f.severity}: ${body}`)}</system-out>`;
      return `    <testcase classname="audit.${xml(code)}" name="${xml(f.object)}">${inner}</testcase>`;
    });
    suites.push(`  <testsuite name="audit.${xml(code)}" tests="${list.length}" failures="${failures - errors}" errors="${errors}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  if (suites.length === 0) {
    suites.push(`  <testsuite name="audit" tests="1" failures="0" errors="0">\n    <testcase classname="audit" name="no findings"/>\n  </testsuite>`);
  }
  const failures = r.findings.filter((f) => f.severity === 'error' && f.code !== 'proxy-unreadable').length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mesh-verify audit" tests="${Math.max(1, r.findings.length)}" failures="${failures}" errors="${r.proxies.unreadable}" time="${(r.durationMs / 1000).toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`;
}
