import { describe, expect, it } from 'vitest';
import { renderTable } from '../../src/report/table.js';
import { renderPathTable } from '../../src/report/path-report-table.js';
import { renderPathReport } from '../../src/report/path-report.js';
import { renderAuditTable } from '../../src/report/audit-table.js';
import type { AuditReport } from '../../src/analyze/audit/types.js';
import { tableWidth } from '../../src/cli/terminal-width.js';
import { analyzeAtRun, loadFixture } from '../analyze/fixture-bundles.js';

const SPIFFE = 'spiffe://cluster.local/ns/mesh-verify/sa/a-very-long-service-account-name';
const POD = 'pod mesh-verify/bff-6d4c7b9f8-x2x9q';
const SECRET = 'kubernetes://mesh-verify-credential-for-web-mesh-verify-test';

/** Words of a column's text, read back from the rendered lines (column start to the next column). */
function words(out: string): string[] {
  return out.split(/\s+/).filter(Boolean);
}

describe('generic table (issue 9 D6)', () => {
  it('upper-cases headers and fills empty cells with -', () => {
    const lines = renderTable(['name', 'value', 'note'], [['a', null, 'x']]).split('\n');
    expect(lines).toEqual(['NAME  VALUE  NOTE', 'a     -      x']);
  });

  it('without a width (piped, -o wide) nothing wraps: one full line per row', () => {
    const note = `${SPIFFE} does not chain to the mesh root ${'and more words '.repeat(20).trim()}`;
    const lines = renderTable(['name', 'note'], [['a', note], ['b', 'short']]).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe(`a     ${note}`);
  });

  it('fits the width and never splits an identifier: SPIFFE ids, pod and secret names stay whole', () => {
    const note = `the certificate ${SPIFFE} of ${POD} and the secret ${SECRET} expire soon`;
    const out = renderTable(['name', 'value', 'note'], [['a', null, note]], { width: 60 });
    const lines = out.split('\n');
    for (const id of [SPIFFE, 'mesh-verify/bff-6d4c7b9f8-x2x9q', SECRET]) expect(lines.some((l) => l.includes(id))).toBe(true);
    // Only a line that holds a word longer than the column may pass the width.
    for (const l of lines) if (l.length > 60) expect([SPIFFE, SECRET]).toContain(l.trim());
    expect(words(lines.slice(1).join(' ')).slice(2)).toEqual(words(note));
  });

  it('moves a word longer than its column to a line of its own; the columns right of it continue below', () => {
    const out = renderTable(['object', 'message'], [[`secret ${SECRET} on gateway`, 'expires in 9 days']], { width: 50, wrap: [0, 1], minWrapWidth: 10 });
    const lines = out.split('\n');
    expect(lines).toContain(SECRET);
    const at = lines.indexOf(SECRET);
    expect(lines[at - 1]).toMatch(/^secret\s+expires in 9 days$/);
    expect(lines[at + 1]).toBe('on gateway');
  });

  it('too narrow for columns: each row becomes a block of HEADER: text lines within the width', () => {
    const out = renderTable(['severity', 'code', 'object', 'message'], [['error', 'plaintext-accepted', POD, 'bff accepted 5 plaintext request(s) during the run from source_workload=legacy-client']],
      { width: 50, wrap: [2, 3], minWrapWidth: 30 });
    expect(out.split('\n')).toEqual([
      'SEVERITY  CODE',
      'error     plaintext-accepted',
      `  OBJECT:  ${POD}`,
      '  MESSAGE: bff accepted 5 plaintext request(s)',
      '           during the run from',
      '           source_workload=legacy-client',
    ]);
  });

  it('renders a 100,000-character cell completely (its speed is measured by npm run bench:table)', () => {
    const word = 'x'.repeat(100_000);
    const wide = renderTable(['name', 'note'], [['a', word]]);
    expect(wide.split('\n')[1]).toBe(`a     ${word}`);
    const prose = Array.from({ length: 20_000 }, (_, i) => `w${i % 1000}`).join(' ');
    const lines = renderTable(['name', 'note'], [['a', prose]], { width: 80 }).split('\n');
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(words(lines.slice(1).join(' ')).slice(1)).toEqual(prose.split(' '));
  });
});

describe('table width of the CLI', () => {
  it('COLUMNS, else the TTY width, else none (piped); -o wide never wraps', () => {
    expect(tableWidth({}, { isTTY: true, columns: 132 }, { COLUMNS: '90' })).toBe(90);
    expect(tableWidth({}, { isTTY: true, columns: 132 }, {})).toBe(132);
    expect(tableWidth({}, { isTTY: false }, {})).toBeNull();
    expect(tableWidth({}, { isTTY: true, columns: 132 }, { COLUMNS: 'wide' })).toBe(132);
    expect(tableWidth({ wide: true }, { isTTY: true, columns: 132 }, { COLUMNS: '90' })).toBeNull();
  });
});

describe('audit table (issue 9 D6: 526-character lines)', () => {
  const report = {
    target: { context: 'kind-mesh-verify', server: null, simulated: false, namespaces: 'all' },
    controlPlane: { revisions: [{ revision: 'default', version: '1.30.3', name: 'istiod' }], roots: 1 },
    proxies: { total: 3, read: 3, unreadable: 0 }, pods: 3, durationMs: 400,
    counts: { error: 1, warning: 0, info: 0 },
    findings: [{
      severity: 'error', code: 'drift-accepts-plaintext', object: 'pod team-00/app-05-c8x2g-wfzkq port 8080',
      message: 'policy says STRICT (PeerAuthentication istio-system/default) but the proxy in effect accepts plaintext too: its virtualInbound listener has a raw_buffer filter chain for port 8080',
      fix: 'check that istiod pushed the PeerAuthentication to this proxy (istioctl proxy-status team-00/app-05-c8x2g-wfzkq) and restart the pod if its config is stale',
      evidence: [],
    }],
  } as unknown as AuditReport;

  it('fits the terminal width, with the pod name whole', () => {
    const lines = renderAuditTable(report, { width: 120 }).split('\n');
    const table = lines.slice(lines.findIndex((l) => l.startsWith('SEVERITY')));
    expect(table.length).toBeGreaterThan(2);
    expect(table.every((l) => l.length <= 120)).toBe(true);
    expect(table.some((l) => l.includes('team-00/app-05-c8x2g-wfzkq'))).toBe(true);
  });

  it('piped or -o wide: one line per finding', () => {
    const lines = renderAuditTable(report).split('\n').filter(Boolean);
    expect(lines.at(-1)).toMatch(/^error\s+drift-accepts-plaintext\s+pod team-00\/app-05-c8x2g-wfzkq port 8080\s+policy says STRICT .* restart the pod if its config is stale$/);
  });
});

describe('path report as a table', () => {
  it('has one row per segment with STATUS / EXPECT / OBSERVED / LEVELS / SUMMARY, then findings', () => {
    const report = analyzeAtRun(loadFixture('plaintext-gateway-bff'));
    const out = renderPathTable(report, { width: 160 });
    const lines = out.split('\n');
    const head = lines.findIndex((l) => l.startsWith('SEGMENT'));
    expect(lines[head]).toMatch(/^SEGMENT\s+STATUS\s+EXPECT\s+OBSERVED\s+LEVELS\s+SUMMARY$/);
    // No traffic level: the gateway's connection to bff was pooled before the run (real Envoy, no new handshake).
    expect(out).toMatch(/gateway->bff-sidecar\s+CONTRADICTED\s+mTLS\s+plaintext\s+config, request,/);
    expect(out).toContain('OVERALL: CONTRADICTED: 6 proven, 1 contradicted, 0 inconclusive (exit 1)');
    expect(out).toMatch(/FINDINGS\nSEVERITY\s+CODE\s+OBJECT\s+MESSAGE\s+FIX\nerror\s+cluster-without-tls/);
    // The header names the recorded run and its target as the bundle records them; the note says what the lab is.
    const b = loadFixture('plaintext-gateway-bff');
    expect(lines[0]).toBe(`mesh-verify: run ${b.run.id} against lab (SIMULATED): ${b.run.target.description}`);
    expect(b.run.target.description).toContain('(fault injected: plaintext-gateway-bff)');
    expect(report.notes?.[0]).toMatch(/^This run was against the local lab: real Envoy proxies, .* behind a real Kubernetes control plane, but a simulated node and container runtime \(kwok\) and Istio control plane/);
    expect(lines[1]).toBe(`NOTE: ${report.notes![0]}`);
    expect(out).not.toContain('EVIDENCE');
  });

  it('lists every evidence item with --verbose', () => {
    const report = analyzeAtRun(loadFixture('healthy'));
    const out = renderPathReport(report, 'table', { verbose: true });
    for (const s of report.segments) expect(out).toContain(`EVIDENCE ${s.id} (PROVEN, ${s.evidence.length} items)`);
    expect(out).toContain('  NEUTRAL     traffic  gateway stats: cluster.outbound|8080||bff.mesh-verify.svc.cluster.local;.ssl.handshake');
  });

  it('fits a terminal: every line of the tables within the width; -o wide keeps one line per segment', () => {
    const report = analyzeAtRun(loadFixture('permissive-svc'));
    const out = renderPathTable(report, { width: 100 });
    const tables = out.split('\n').filter((l) => !l.startsWith('mesh-verify: ') && !l.startsWith('NOTE: '));
    expect(tables.every((l) => l.length <= 100)).toBe(true);
    expect(out).toContain('  SUMMARY: mTLS for this run\'s requests');
    const wide = renderPathReport(report, 'wide', { width: 100 }).split('\n');
    for (const s of report.segments) expect(wide.filter((l) => l.startsWith(`${s.id} `))).toHaveLength(1);
    expect(wide.find((l) => l.startsWith('bff-sidecar->svc-sidecar '))).toContain(report.segments[5].summary);
  });

  it('renders JSON that is the PathReport itself', () => {
    const report = analyzeAtRun(loadFixture('stats-filtered'));
    expect(JSON.parse(renderPathReport(report, 'json'))).toEqual(report);
  });
});
