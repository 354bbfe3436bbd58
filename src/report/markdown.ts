/**
 * Generic GitHub-flavoured Markdown pieces (job summaries, PR comments): escaped table cells,
 * tables, collapsible sections and Mermaid flowcharts. Shared by the path and audit reports.
 */

/** Escape text for one table cell: pipes, newlines, and characters that start Markdown/HTML markup. */
export function mdCell(text: string | number | boolean | null | undefined): string {
  if (text === null || text === undefined || text === '') return '-';
  return String(text)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n/g, '<br>');
}

/** Inline code that survives backticks inside the text. */
export function mdCode(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${fence === '``' ? ' ' : ''}${text}${fence === '``' ? ' ' : ''}${fence}`;
}

export function mdTable(head: string[], rows: (string | number | boolean | null | undefined)[][]): string {
  const out = [`| ${head.map(mdCell).join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`];
  for (const r of rows) out.push(`| ${head.map((_, i) => mdCell(r[i])).join(' | ')} |`);
  return out.join('\n');
}

/** A collapsible block (GitHub renders <details>; the body is Markdown). */
export function mdDetails(summary: string, body: string): string {
  return `<details><summary>${summary.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</summary>\n\n${body}\n\n</details>`;
}

export interface MermaidNode { id: string; label: string }
export interface MermaidEdge { from: string; to: string; label: string; color?: string; dashed?: boolean }

/** Mermaid label text: quotes and markup characters as entity codes (Mermaid's `#quot;` form). */
export function mermaidText(text: string): string {
  return text.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;').replace(/\|/g, '#124;').replace(/\r?\n/g, ' ');
}

/**
 * A `flowchart LR` with quoted node and edge labels and per-edge colours (linkStyle), inside a
 * ```mermaid fence. Node ids are replaced by n0, n1, ... so any id is safe.
 */
export function mermaidFlowchart(nodes: MermaidNode[], edges: MermaidEdge[]): string {
  const ids = new Map<string, string>();
  const idOf = (id: string): string => {
    if (!ids.has(id)) ids.set(id, `n${ids.size}`);
    return ids.get(id) as string;
  };
  const lines = ['```mermaid', 'flowchart LR'];
  for (const n of nodes) lines.push(`  ${idOf(n.id)}["${mermaidText(n.label)}"]`);
  edges.forEach((e) => {
    const arrow = e.dashed ? '-.->' : '-->';
    lines.push(`  ${idOf(e.from)} ${arrow}|"${mermaidText(e.label)}"| ${idOf(e.to)}`);
  });
  edges.forEach((e, i) => {
    if (e.color) lines.push(`  linkStyle ${i} stroke:${e.color},stroke-width:2px,color:${e.color}`);
  });
  lines.push('```');
  return lines.join('\n');
}
