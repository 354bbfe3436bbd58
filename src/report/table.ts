/**
 * Generic terminal tables in istioctl's style: upper-case headers, no borders, two spaces between
 * columns, `-` for empty cells, no colours (the same output on a TTY and in a pipe).
 *
 * - Without a width (piped output, `-o wide`) nothing wraps: every row is one full line per
 *   line of its cells.
 * - With a width (a terminal's), the columns listed in `wrap` share what the others leave and
 *   wrap at spaces only. A word longer than its column (a SPIFFE id, a pod or secret name) is
 *   never split: it moves to a line of its own, starting at its column, and the columns right of
 *   it continue on the next line.
 * - Time is linear in the size of the cells (no per-character re-measuring): a 100,000-character
 *   cell renders in milliseconds (`npm run bench:table`).
 */
export type TableCell = string | number | boolean | null | undefined;

export interface TableOptions {
  /** Width to fit; null, undefined or Infinity: no wrapping (full lines). */
  width?: number | null;
  /** Indexes of columns that may wrap (default: the last column). */
  wrap?: number[];
  /** Narrowest a wrapping column may get (default 24, or what it needs if less); below it each
   *  row becomes a block: its other columns on one line, then `  HEADER: text` lines. */
  minWrapWidth?: number;
  /** Maximum widths of some wrapping columns (by index). */
  maxWidths?: Record<number, number>;
}

const GAP = '  ';

export function cellText(c: TableCell): string {
  if (c === null || c === undefined || c === '') return '-';
  if (typeof c === 'boolean') return c ? 'yes' : 'no';
  return String(c);
}

/** One wrapped line of a cell; `alone` lines hold a word longer than the column. */
interface Piece { text: string; alone: boolean }

function longestLine(text: string): number {
  let max = 0;
  for (const line of text.split('\n')) max = Math.max(max, line.length);
  return max;
}

/**
 * Greedy wrap at spaces; a word longer than `width` becomes a piece of its own. Linear, and each
 * piece is one slice of its line (no string building), so a huge cell costs little garbage.
 */
export function wrapCell(text: string, width: number): Piece[] {
  const out: Piece[] = [];
  for (const line of text.split('\n')) {
    if (line.length <= width) {
      out.push({ text: line, alone: false });
      continue;
    }
    let from = -1;
    let to = -1;
    const flush = () => {
      if (from >= 0) out.push({ text: line.slice(from, to), alone: false });
      from = -1;
    };
    for (let i = 0; i < line.length;) {
      if (line.charCodeAt(i) === 32) {
        i += 1;
        continue;
      }
      let j = line.indexOf(' ', i);
      if (j < 0) j = line.length;
      if (j - i > width) {
        flush();
        out.push({ text: line.slice(i, j), alone: true });
      } else if (from < 0) {
        from = i;
        to = j;
      } else if (j - from <= width) {
        to = j;
      } else {
        flush();
        from = i;
        to = j;
      }
      i = j + 1;
    }
    flush();
  }
  return out.length > 0 ? out : [{ text: '', alone: false }];
}

/** Length of the longest run without a space or a line break. */
function longestWord(text: string): number {
  let max = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    run = c === 32 || c === 10 ? 0 : run + 1;
    if (run > max) max = run;
  }
  return max;
}

/**
 * Column widths: natural when they fit. Else the wrapping columns share what the others leave:
 * first each gets its longest word (so identifiers stay whole) when all of those fit, then the
 * rest is water-filled (a column that needs less than its share keeps its natural width).
 * Null when a wrapping column would be narrower than `minWrapWidth`: rows become blocks.
 */
function columnWidths(cells: string[][], natural: number[], width: number | null | undefined, opts: TableOptions, wrap: Set<number>): number[] | null {
  const gaps = GAP.length * (natural.length - 1);
  const total = natural.reduce((a, b) => a + b, 0) + gaps;
  if (width === null || width === undefined || !Number.isFinite(width) || total <= width) return natural;
  const widths = [...natural];
  const want = (i: number) => Math.min(natural[i], opts.maxWidths?.[i] ?? Infinity);
  let left = width - gaps - natural.reduce((n, w, i) => (wrap.has(i) ? n : n + w), 0);
  const cols = [...wrap];
  const floor = new Map(cols.map((i) => {
    let word = 0;
    for (const r of cells) word = Math.max(word, longestWord(r[i]));
    return [i, Math.min(word, want(i))];
  }));
  const floors = cols.reduce((n, i) => n + (floor.get(i) ?? 0), 0);
  const useFloors = floors <= left;
  const base = (i: number) => (useFloors ? floor.get(i) ?? 0 : 0);
  for (const i of cols) widths[i] = base(i);
  left -= cols.reduce((n, i) => n + base(i), 0);
  const open = [...cols].sort((a, b) => (want(a) - base(a)) - (want(b) - base(b)));
  while (open.length > 0) {
    const share = Math.floor(left / open.length);
    const i = open.shift() as number;
    const add = Math.min(want(i) - base(i), share);
    widths[i] = base(i) + add;
    left -= add;
  }
  if (cols.some((i) => widths[i] < Math.min(opts.minWrapWidth ?? 24, want(i)) || widths[i] < 1)) return null;
  return widths;
}

/** Emit one row from its wrapped cells: a piece that stands alone ends the line; columns right of it wait. */
function emitRow(pieces: Piece[][], starts: number[], out: string[]): void {
  const at = pieces.map(() => 0);
  for (;;) {
    let any = false;
    let stop = pieces.length;
    for (let i = 0; i < pieces.length; i++) {
      if (at[i] >= pieces[i].length) continue;
      any = true;
      if (pieces[i][at[i]].alone) {
        stop = i;
        break;
      }
    }
    if (!any) break;
    let line = '';
    for (let i = 0; i < pieces.length && i <= stop; i++) {
      if (at[i] >= pieces[i].length) continue;
      const text = pieces[i][at[i]].text;
      at[i] += 1;
      if (text !== '') line = line.padEnd(starts[i]) + text;
    }
    out.push(line.trimEnd());
  }
}

/**
 * Too narrow for columns: each row becomes its fixed columns (aligned) followed by one
 * `  HEADER: text` line group per wrapping column, wrapped to the width at spaces.
 */
function renderBlocks(cells: string[][], wrap: Set<number>, width: number): string {
  const fixed = cells[0].map((_, i) => i).filter((i) => !wrap.has(i));
  const fixedWidths = fixed.map((i) => Math.max(...cells.map((r) => longestLine(r[i]))));
  const labels = [...wrap].sort((a, b) => a - b);
  const labelWidth = Math.max(...labels.map((i) => cells[0][i].length)) + 2;
  const textWidth = Math.max(width - 2 - labelWidth, 1);
  const out: string[] = [];
  cells.forEach((r, row) => {
    const starts: number[] = [];
    fixedWidths.reduce((at, w, k) => ((starts[k] = at), at + w + GAP.length), 0);
    emitRow(fixed.map((i) => wrapCell(r[i], Infinity)), starts, out);
    if (row === 0) return;
    for (const i of labels) {
      const pieces = wrapCell(r[i], textWidth);
      pieces.forEach((p, k) => out.push(`${(k === 0 ? `  ${cells[0][i]}:` : '').padEnd(2 + labelWidth)}${p.text}`.trimEnd()));
    }
  });
  return out.join('\n');
}

export function renderTable(head: string[], rows: TableCell[][], opts: TableOptions = {}): string {
  const header = head.map((h) => h.toUpperCase());
  const cells = [header, ...rows.map((r) => head.map((_, i) => cellText(r[i])))];
  const natural = head.map((_, i) => {
    let max = 0;
    for (const r of cells) max = Math.max(max, longestLine(r[i]));
    return max;
  });
  const wrap = new Set((opts.wrap ?? [head.length - 1]).filter((i) => i >= 0 && i < head.length));
  const widths = columnWidths(cells, natural, opts.width, opts, wrap);
  if (!widths) return renderBlocks(cells, wrap, opts.width as number);
  const starts: number[] = [];
  widths.reduce((at, w, i) => ((starts[i] = at), at + w + GAP.length), 0);
  const out: string[] = [];
  for (const r of cells) {
    emitRow(r.map((text, i) => (text.length <= widths[i] && !text.includes('\n') ? [{ text, alone: false }] : wrapCell(text, widths[i]))), starts, out);
  }
  return out.join('\n');
}
