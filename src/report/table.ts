import Table from 'cli-table3';

/**
 * Generic terminal tables (cli-table3), in istioctl's style: upper-case headers, no borders,
 * two spaces between columns, `-` for empty cells, no colours (same output on a TTY and in a pipe).
 * Columns listed in `wrap` share the width left over by the others and wrap on word boundaries.
 */
export type TableCell = string | number | boolean | null | undefined;

export interface TableOptions {
  /** Total width to fit (default 120). */
  width?: number;
  /** Indexes of columns that may wrap (default: the last column). */
  wrap?: number[];
  /** Minimum width of a wrapping column (default 24). */
  minWrapWidth?: number;
  /** Fixed maximum widths of some wrapping columns (by index); the others share the rest. */
  maxWidths?: Record<number, number>;
}

const PLAIN_CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

export function cellText(c: TableCell): string {
  if (c === null || c === undefined || c === '') return '-';
  if (typeof c === 'boolean') return c ? 'yes' : 'no';
  return String(c);
}

export function renderTable(head: string[], rows: TableCell[][], opts: TableOptions = {}): string {
  const width = opts.width ?? 120;
  const wrap = new Set(opts.wrap ?? [head.length - 1]);
  const cells = rows.map((r) => head.map((_, i) => cellText(r[i])));
  const natural = head.map((h, i) => Math.max(h.length, ...cells.map((r) => Math.max(...r[i].split('\n').map((l) => l.length)))));
  const gaps = 2 * (head.length - 1);
  const capped = (i: number): number | undefined => (wrap.has(i) && opts.maxWidths?.[i] !== undefined ? Math.min(natural[i], opts.maxWidths[i]) : undefined);
  const sharing = [...wrap].filter((i) => capped(i) === undefined);
  const fixed = natural.reduce((n, w, i) => (wrap.has(i) && capped(i) === undefined ? n : n + (capped(i) ?? w)), 0);
  const share = Math.max(opts.minWrapWidth ?? 24, Math.floor((width - fixed - gaps) / Math.max(sharing.length, 1)));
  const colWidths = natural.map((w, i) => capped(i) ?? (wrap.has(i) ? Math.min(w, share) : w));
  // cli-table3 truncates a word longer than its column; break such words over lines instead.
  for (const r of cells) {
    for (const i of wrap) r[i] = breakLongWords(r[i], colWidths[i]);
  }
  const table = new Table({
    head: head.map((h) => h.toUpperCase()),
    chars: PLAIN_CHARS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    colWidths,
    wordWrap: true,
    wrapOnWordBoundary: true,
  });
  for (const r of cells) table.push(r);
  return table.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}

function breakLongWords(text: string, width: number): string {
  if (width < 2) return text;
  return text.split('\n').map((line) => line.split(' ').map((word) => {
    if (word.length <= width) return word;
    const parts: string[] = [];
    for (let i = 0; i < word.length; i += width) parts.push(word.slice(i, i + width));
    return parts.join('\n');
  }).join(' ')).join('\n');
}
