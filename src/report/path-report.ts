import type { PathReport } from '../analyze/types.js';
import { renderPathTable } from './path-report-table.js';
import { renderPathJson } from './path-report-json.js';
import { renderPathJunit } from './path-report-junit.js';
import { renderPathMarkdown } from './path-report-markdown.js';

/** `wide` is the table without wrapping, whatever the terminal's width. */
export const PATH_REPORT_FORMATS = ['table', 'wide', 'json', 'junit', 'markdown'] as const;
export type PathReportFormat = (typeof PATH_REPORT_FORMATS)[number];

export function isPathReportFormat(v: string): v is PathReportFormat {
  return (PATH_REPORT_FORMATS as readonly string[]).includes(v);
}

/** Render a PathReport in one of the output formats (pure). */
export function renderPathReport(r: PathReport, format: PathReportFormat, opts: { verbose?: boolean; width?: number | null } = {}): string {
  switch (format) {
    case 'json': return renderPathJson(r);
    case 'junit': return renderPathJunit(r);
    case 'markdown': return renderPathMarkdown(r);
    case 'wide': return renderPathTable(r, { ...opts, width: null });
    default: return renderPathTable(r, opts);
  }
}
