import { describe, expect, it } from 'vitest';
import { renderTable } from '../../src/report/table.js';
import { renderPathTable } from '../../src/report/path-report-table.js';
import { renderPathReport } from '../../src/report/path-report.js';
import { analyzeAtRun, loadFixture } from '../analyze/fixture-bundles.js';

describe('generic table', () => {
  it('upper-cases headers, fills empty cells with -, and wraps without losing characters', () => {
    const long = 'spiffe://cluster.local/ns/mesh-verify/sa/a-very-long-service-account-name';
    const out = renderTable(['name', 'value', 'note'], [['a', null, `${long} and more words here`]], { width: 40 });
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VALUE\s+NOTE$/);
    expect(lines[1]).toMatch(/^a\s+-\s+/);
    expect(lines.every((l) => l.length <= 40)).toBe(true);
    const noteColumn = lines.slice(1).map((l) => l.slice(lines[0].indexOf('NOTE')).trim()).join('');
    expect(noteColumn.replace(/\s/g, '')).toBe(`${long}andmorewordshere`);
  });
});

describe('path report as a table', () => {
  it('has one row per segment with STATUS / EXPECT / OBSERVED / LEVELS / SUMMARY, then findings', () => {
    const report = analyzeAtRun(loadFixture('plaintext-gateway-bff'));
    const out = renderPathTable(report, { width: 160 });
    const lines = out.split('\n');
    const head = lines.findIndex((l) => l.startsWith('SEGMENT'));
    expect(lines[head]).toMatch(/^SEGMENT\s+STATUS\s+EXPECT\s+OBSERVED\s+LEVELS\s+SUMMARY$/);
    expect(out).toMatch(/gateway->bff-sidecar\s+CONTRADICTED\s+mTLS\s+plaintext\s+config, traffic,/);
    expect(out).toContain('OVERALL: CONTRADICTED: 6 proven, 1 contradicted, 0 inconclusive (exit 1)');
    expect(out).toMatch(/FINDINGS\nSEVERITY\s+CODE\s+OBJECT\s+MESSAGE\s+FIX\nerror\s+cluster-without-tls/);
    expect(out).toContain('NOTE: This bundle is hand-made fixture data');
    expect(out).not.toContain('EVIDENCE');
  });

  it('lists every evidence item with --verbose', () => {
    const report = analyzeAtRun(loadFixture('healthy'));
    const out = renderPathReport(report, 'table', { verbose: true });
    for (const s of report.segments) expect(out).toContain(`EVIDENCE ${s.id} (PROVEN, ${s.evidence.length} items)`);
    expect(out).toContain('  NEUTRAL     traffic  gateway stats: cluster.outbound|8080||bff.mesh-verify.svc.cluster.local.ssl.handshake');
  });

  it('renders JSON that is the PathReport itself', () => {
    const report = analyzeAtRun(loadFixture('stats-filtered'));
    expect(JSON.parse(renderPathReport(report, 'json'))).toEqual(report);
  });
});
