import type { AuditReport } from '../analyze/audit/types.js';

function cell(s: string | null | undefined): string {
  return (s ?? '-').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The audit as Markdown (PR comments, tickets): summary, then a findings table per severity. */
export function renderAuditMarkdown(r: AuditReport): string {
  const out: string[] = [];
  out.push(`# mesh-verify audit${r.target.simulated ? ' (SIMULATED lab)' : ''}`);
  out.push('');
  out.push(`- Context: \`${r.target.context ?? '-'}\`, namespaces: ${r.target.namespaces === 'all' ? 'all' : r.target.namespaces.join(', ')}`);
  out.push(`- Control plane: ${r.controlPlane.revisions.map((x) => `\`${x.revision}\` ${x.version ?? '?'}`).join(', ') || 'none found'}`);
  out.push(`- Proxies: ${r.proxies.read} of ${r.proxies.total} read${r.proxies.unreadable ? `, **${r.proxies.unreadable} unreadable**` : ''}; pods: ${r.pods}`);
  out.push(`- Findings: **${r.counts.error} error**, ${r.counts.warning} warning, ${r.counts.info} info (min cert days ${r.options.minCertDays}${r.options.targetVersion ? `, target ${r.options.targetVersion}` : ''})`);
  for (const sev of ['error', 'warning', 'info'] as const) {
    const list = r.findings.filter((f) => f.severity === sev);
    if (list.length === 0) continue;
    out.push('');
    out.push(`## ${sev === 'error' ? 'Errors' : sev === 'warning' ? 'Warnings' : 'Info'} (${list.length})`);
    out.push('');
    out.push('| Code | Object | Finding | Fix |');
    out.push('|---|---|---|---|');
    for (const f of list) out.push(`| \`${f.code}\` | ${cell(f.object)} | ${cell(f.message)} | ${cell(f.fix)} |`);
  }
  return out.join('\n') + '\n';
}
