/**
 * Plain aligned columns in the style of istioctl: upper-case headers, two spaces between
 * columns, `-` for empty cells. No colours, so output is the same on a TTY and in a pipe.
 */
export type Cell = string | number | boolean | null | undefined;

export function formatColumns(headers: string[], rows: Cell[][], indent = ''): string {
  const text = (c: Cell): string => {
    if (c === null || c === undefined || c === '') return '-';
    if (typeof c === 'boolean') return c ? 'yes' : 'no';
    return String(c);
  };
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(text))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}
