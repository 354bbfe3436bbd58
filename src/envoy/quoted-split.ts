/**
 * Split `text` at `sep` where it is not inside double quotes (`\"` and other backslash escapes
 * inside quotes are kept as data). Used for Envoy's XFCC header and node's subjectAltName text.
 * Every part is returned, empty ones included.
 */
export function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && quoted && i + 1 < text.length) {
      current += ch + text[++i];
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === sep && !quoted) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}
