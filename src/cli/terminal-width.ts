/**
 * The width terminal tables fit: `COLUMNS` when it is set to a positive integer, else the
 * terminal's width when stdout is a TTY, else null: piped output is not wrapped (full lines),
 * and neither is `-o wide`.
 */
export function tableWidth(
  opts: { wide?: boolean } = {},
  out: { isTTY?: boolean; columns?: number } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): number | null {
  if (opts.wide) return null;
  const columns = env.COLUMNS?.trim();
  if (columns && /^\d+$/.test(columns) && Number(columns) > 0) return Number(columns);
  if (out.isTTY && typeof out.columns === 'number' && out.columns > 0) return out.columns;
  return null;
}
