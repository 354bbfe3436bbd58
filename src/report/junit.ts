/**
 * Generic JUnit XML (the Jenkins/GitLab/GitHub flavour): suites of test cases that pass, fail
 * or are skipped, with system-out. Text is escaped for XML and characters XML 1.0 cannot carry
 * are dropped. Shared by the path report and the audit report.
 */
export interface JUnitCase {
  name: string;
  classname: string;
  timeSeconds?: number;
  failure?: { message: string; type?: string; body?: string };
  error?: { message: string; type?: string; body?: string };
  skipped?: { message: string };
  systemOut?: string;
}

export interface JUnitSuite {
  name: string;
  timestamp?: string;
  properties?: Record<string, string>;
  cases: JUnitCase[];
  systemOut?: string;
}

// eslint-disable-next-line no-control-regex
const INVALID_XML = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escape text for an XML attribute or element (drops characters XML 1.0 forbids). */
export function xmlEscape(text: string): string {
  return text
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`).join('');
}

function outcome(tag: string, o: { message: string; type?: string; body?: string }): string {
  return o.body ? `      <${tag}${attrs({ message: o.message, type: o.type })}>${xmlEscape(o.body)}</${tag}>` : `      <${tag}${attrs({ message: o.message, type: o.type })}/>`;
}

function renderCase(c: JUnitCase): string {
  const inner: string[] = [];
  if (c.failure) inner.push(outcome('failure', c.failure));
  if (c.error) inner.push(outcome('error', c.error));
  if (c.skipped) inner.push(`      <skipped${attrs({ message: c.skipped.message })}/>`);
  if (c.systemOut) inner.push(`      <system-out>${xmlEscape(c.systemOut)}</system-out>`);
  const open = `    <testcase${attrs({ name: c.name, classname: c.classname, time: (c.timeSeconds ?? 0).toFixed(3) })}`;
  return inner.length === 0 ? `${open}/>` : `${open}>\n${inner.join('\n')}\n    </testcase>`;
}

function counts(cases: JUnitCase[]) {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.failure).length,
    errors: cases.filter((c) => c.error).length,
    skipped: cases.filter((c) => c.skipped && !c.failure && !c.error).length,
  };
}

export function renderJUnit(suites: JUnitSuite[], name = 'mesh-verify'): string {
  const all = suites.flatMap((s) => s.cases);
  const total = counts(all);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attrs({ name, ...total, time: '0.000' })}>`];
  for (const s of suites) {
    const c = counts(s.cases);
    lines.push(`  <testsuite${attrs({ name: s.name, ...c, time: '0.000', timestamp: s.timestamp })}>`);
    if (s.properties && Object.keys(s.properties).length > 0) {
      lines.push('    <properties>');
      for (const [k, v] of Object.entries(s.properties)) lines.push(`      <property${attrs({ name: k, value: v })}/>`);
      lines.push('    </properties>');
    }
    for (const tc of s.cases) lines.push(renderCase(tc));
    if (s.systemOut) lines.push(`    <system-out>${xmlEscape(s.systemOut)}</system-out>`);
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
