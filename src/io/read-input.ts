import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../cli/errors.js';

/**
 * Read a user-supplied file as text, turning every way it can be unusable into one clear
 * InputError (exit 2) that names the file: missing, a directory, unreadable, empty.
 */
export async function readInputText(file: string, what = 'file'): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(file, `${what} not found`, 'check the path');
    if (code === 'EACCES') throw new InputError(file, `${what} is not readable (permission denied)`);
    throw new InputError(file, `cannot read ${what}: ${(err as Error).message}`);
  }
  if (info.isDirectory()) throw new InputError(file, `is a directory, expected a ${what}`, 'pass the file inside it');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(file, `cannot read ${what}: ${(err as Error).message}`);
  }
  // Editors on Windows (and PowerShell's `>` redirection) start UTF-8 files with a BOM.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new InputError(file, `${what} is empty`);
  return text;
}

/**
 * Read a user-supplied JSON file. Non-JSON and truncated JSON are told apart, with the position
 * where parsing stopped.
 */
export async function readInputJson(file: string, what = 'JSON file'): Promise<unknown> {
  const text = await readInputText(file, what);
  return parseJsonInput(file, text);
}

export function parseJsonInput(file: string, text: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const trimmed = text.trimStart();
    if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) {
      throw new InputError(file, 'is not JSON (it does not start with "{" or "[")');
    }
    // V8 reports a document cut after a complete value as "Expected ',' or ']' after array
    // element in JSON at position N" with N at the end of the text.
    const at = /at position (\d+)/.exec(msg);
    const atEnd = at !== null && Number(at[1]) >= text.trimEnd().length;
    if (atEnd || /Unexpected end of JSON input|Unterminated string|end of data/i.test(msg)) {
      throw new InputError(file, `JSON is truncated (${text.length} bytes read; the document ends early)`, 'capture it again');
    }
    // V8 quotes the offending input in some messages ("Unexpected token 'a', \"{...}\" is not
    // valid JSON"): report only where parsing stopped, never the file's bytes.
    throw new InputError(file, `is not valid JSON${at ? ` (${lineColumn(text, Number(at[1]))})` : ''}`, 'check that the file holds one complete JSON document');
  }
}

function lineColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}
