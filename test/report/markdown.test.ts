import { describe, expect, it } from 'vitest';
import { mdCell, mdTable, mermaidFlowchart } from '../../src/report/markdown.js';
import { renderPathMarkdown } from '../../src/report/path-report-markdown.js';
import { analyzeAtRun, loadFixture, proxy } from '../analyze/fixture-bundles.js';

describe('generic Markdown pieces', () => {
  it('escapes table cells so a value cannot break the table', () => {
    expect(mdCell('outbound|8080||svc')).toBe('outbound\\|8080\\|\\|svc');
    expect(mdCell('a\nb <c>')).toBe('a<br>b &lt;c&gt;');
    expect(mdCell(null)).toBe('-');
    expect(mdTable(['A', 'B'], [['x|y', '']]).split('\n')).toEqual(['| A | B |', '| --- | --- |', '| x\\|y | - |']);
  });

  it('draws a Mermaid flowchart with safe ids, quoted labels and one linkStyle per coloured edge', () => {
    const md = mermaidFlowchart([{ id: 'a->b', label: 'say "hi" <x>' }, { id: 'c', label: 'C' }], [{ from: 'a->b', to: 'c', label: 'mTLS | ok', color: '#2da44e' }]);
    expect(md.split('\n')).toEqual([
      '```mermaid', 'flowchart LR', '  n0["say #quot;hi#quot; #lt;x#gt;"]', '  n1["C"]', '  n0 -->|"mTLS #124; ok"| n1',
      '  linkStyle 0 stroke:#2da44e,stroke-width:2px,color:#2da44e', '```',
    ]);
  });
});

describe('path report as Markdown', () => {
  const report = analyzeAtRun(loadFixture('no-sidecar-svc'));
  const md = renderPathMarkdown(report);

  it('puts every segment on the diagram with its state and colour', () => {
    const diagram = /```mermaid\n([\s\S]*?)```/.exec(md)?.[1] ?? '';
    expect(diagram.startsWith('flowchart LR')).toBe(true);
    const edges = diagram.split('\n').filter((l) => l.includes('|"'));
    expect(edges).toHaveLength(report.segments.length);
    expect(edges[5]).toBe('  n3 -->|"mTLS: contradicted"| n5');
    expect(edges[6]).toBe('  n5 -.->|"plaintext: inconclusive"| n6');
    expect(diagram).toContain('linkStyle 5 stroke:#cf222e');
    expect(diagram).toContain('linkStyle 6 stroke:#bf8700');
    expect(diagram).toContain('n3["bff sidecar"]');
  });

  it('summarises, lists findings and holds each segment\'s evidence in a collapsible table', () => {
    expect(md).toContain('## mesh-verify: ❌ CONTRADICTED');
    expect(md).toContain('**Overall:** `contradicted`: 5 proven, 1 contradicted, 1 inconclusive (exit 1)');
    expect(md).toContain(`| warning | proxy-not-captured | proxy svc (mesh-verify/${proxy(loadFixture('no-sidecar-svc'), 'svc').pod.name}) |`);
    expect(md.match(/<details><summary>/g)).toHaveLength(report.segments.length);
    expect(md).toContain('| contradicts | traffic | bff | stats | cluster.outbound\\|8080\\|\\|svc.mesh-verify.svc.cluster.local;.ssl.handshake | +0 with 1 new connection(s)');
  });

  it('says so when the run was against the simulated lab', () => {
    const b = loadFixture('healthy');
    expect(b.run.target).toMatchObject({ kind: 'lab', simulated: true });
    expect(renderPathMarkdown(analyzeAtRun(b))).toContain('> **Note:** This run was against the local lab: real Envoy proxies');
    // Recorded on the lab's real control plane (its description says so): the note says what was simulated.
    expect(renderPathMarkdown(analyzeAtRun(b))).toContain('behind a real Kubernetes control plane, but a simulated node and container runtime (kwok) and Istio control plane');
  });
});
