import { describe, expect, it } from 'vitest';
import { renderJUnit, xmlEscape } from '../../src/report/junit.js';
import { renderPathJunit } from '../../src/report/path-report-junit.js';
import { analyzeAtRun, loadFixture } from '../analyze/fixture-bundles.js';
import { xmlProblem } from './xml-well-formed.js';

describe('generic JUnit writer', () => {
  it('escapes markup and drops characters XML cannot carry', () => {
    expect(xmlEscape(`a<b>&"c'\u0001\u0008d`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;d');
  });

  it('counts failures, errors and skips per suite and in total', () => {
    const xml = renderJUnit([
      { name: 's1', cases: [{ name: 'ok', classname: 'c' }, { name: 'bad', classname: 'c', failure: { message: 'm<1>' } }] },
      { name: 's2', cases: [{ name: 'skip', classname: 'c', skipped: { message: 'why' } }, { name: 'err', classname: 'c', error: { message: 'e', body: 'x & y' } }] },
    ], 'top');
    expect(xmlProblem(xml)).toBeNull();
    expect(xml).toContain('<testsuites name="top" tests="4" failures="1" errors="1" skipped="1"');
    expect(xml).toContain('<testsuite name="s1" tests="2" failures="1" errors="0" skipped="0"');
    expect(xml).toContain('<failure message="m&lt;1&gt;"/>');
    expect(xml).toContain('<error message="e">x &amp; y</error>');
  });
});

describe('path report as JUnit', () => {
  it('has one test case per segment: contradicted fails, inconclusive is skipped with the reason', () => {
    const report = analyzeAtRun(loadFixture('expired-cert'));
    const xml = renderPathJunit(report);
    expect(xmlProblem(xml)).toBeNull();
    expect(xml.match(/<testcase /g)).toHaveLength(report.segments.length);
    expect(xml).toContain('tests="7" failures="1" errors="0" skipped="1"');
    expect(xml).toContain('<testcase name="bff-sidecar-&gt;svc-sidecar expects mTLS" classname="mesh-verify.path"');
    expect(xml).toMatch(/<failure message="expected mTLS, but bff access log: upstream TLS handshake failed \(CERTIFICATE_VERIFY_FAILED\)[^"]*" type="contradicted">\[contradicts\]/);
    expect(xml).toContain('<skipped message="inconclusive: config shows plaintext (intent), but nothing from the wire confirms it');
  });

  it('puts the findings in the suite\'s system-out', () => {
    const b = loadFixture('permissive-svc');
    const pod = `pod mesh-verify/${b.proxies.find((p) => p.id === 'svc')?.pod.name}`;
    const xml = renderPathJunit(analyzeAtRun(b));
    const out = /<system-out>([^<]*)<\/system-out>\n  <\/testsuite>/.exec(xml)?.[1] ?? '';
    expect(out).toContain(`ERROR plaintext-accepted ${pod}`);
    expect(out).toContain(`WARNING inbound-permissive ${pod} port 8080`);
  });

  it('stays well-formed for every fixture', () => {
    for (const name of ['healthy', 'no-sidecar-svc', 'nlb-terminates-tls', 'stats-filtered'] as const) {
      expect(xmlProblem(renderPathJunit(analyzeAtRun(loadFixture(name))))).toBeNull();
    }
  });
});
