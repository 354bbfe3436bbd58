/**
 * A small XML well-formedness check for tests (no XML parser is a dependency): balanced tags,
 * quoted attributes, no raw `<` or stray `&` in text. Returns the first problem, or null.
 */
export function xmlProblem(xml: string): string | null {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(body)) !== null) {
    const [, close, name, , selfClose, text, stray] = m;
    if (stray) return `raw "<" at ${m.index}`;
    if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text)) return `unescaped & in text at ${m.index}`;
      continue;
    }
    if (close) {
      if (stack.pop() !== name) return `unbalanced </${name}> at ${m.index}`;
    } else if (!selfClose) {
      stack.push(name);
    }
  }
  return stack.length === 0 ? null : `unclosed <${stack.at(-1)}>`;
}
