import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { InputError } from '../core/errors.js';

/**
 * Limits on what mesh-verify reads from a user's file (inspect, analyze). A real config dump of a
 * large mesh with EDS is tens of MB; a bundle is usually well under 1 MB.
 */
export interface InputLimits { maxBytes: number; maxDepth: number; pipeIdleMs: number; pipeTotalMs: number }

export const INPUT_LIMITS: Readonly<InputLimits> = {
  /** Largest file read, in bytes. */
  maxBytes: 128 * 1024 * 1024,
  /** Deepest JSON nesting accepted (Envoy config dumps nest about 30 levels). */
  maxDepth: 256,
  /** How long a pipe or FIFO may stay without a writer, or without data, before giving up. */
  pipeIdleMs: 10_000,
  /** How long reading a pipe or FIFO may take in all. */
  pipeTotalMs: 120_000,
};

const MB = 1024 * 1024;

/** '128 MB', '1000 bytes'. */
function size(bytes: number): string {
  return bytes >= MB ? `${Math.round(bytes / MB)} MB` : `${bytes} bytes`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

/**
 * Read a FIFO, pipe or character device without blocking forever: it is opened non-blocking (an
 * open for reading would wait for a writer), and reading gives up when no writer shows up or no
 * data comes for `pipeIdleMs`, or after `pipeTotalMs` in all, or past `maxBytes`.
 */
async function readSpecial(file: string, what: string, limits: InputLimits): Promise<Buffer> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  const chunks: Buffer[] = [];
  let total = 0;
  const started = Date.now();
  let lastData = Date.now();
  try {
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        n = -1; // a writer, but no data yet
      }
      if (n > 0) {
        total += n;
        if (total > limits.maxBytes) throw new InputError(file, `${what} is larger than ${size(limits.maxBytes)}, the most mesh-verify reads`, 'pass a smaller capture');
        chunks.push(Buffer.from(buf.subarray(0, n)));
        lastData = Date.now();
        continue;
      }
      // n === 0: no writer (none yet, or it closed the pipe after writing)
      if (n === 0 && total > 0) break;
      if (Date.now() - lastData > limits.pipeIdleMs) {
        throw new InputError(file, n === 0
          ? `${what} is a pipe that no process wrote to within ${limits.pipeIdleMs / 1000} s`
          : `${what} is a pipe that sent nothing for ${limits.pipeIdleMs / 1000} s`, 'write the capture to a regular file and pass that');
      }
      if (Date.now() - started > limits.pipeTotalMs) {
        throw new InputError(file, `reading ${what} from a pipe took longer than ${limits.pipeTotalMs / 1000} s`, 'write the capture to a regular file and pass that');
      }
      await sleep(20);
    }
  } finally {
    await fh.close();
  }
  return Buffer.concat(chunks);
}

/**
 * Read a user-supplied file as text, turning every way it can be unusable into one clear
 * InputError (exit 2) that names the file: missing, a directory, unreadable, too large, a pipe
 * without writer, empty. A UTF-8 byte order mark is dropped.
 */
export async function readInputText(file: string, what = 'file', limits: InputLimits = INPUT_LIMITS): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(file, `${what} not found`, 'check the path');
    if (code === 'EACCES') throw new InputError(file, `${what} is not readable (permission denied)`);
    throw new InputError(file, `cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (info.isDirectory()) throw new InputError(file, `is a directory, expected a ${what}`, 'pass the file inside it');
  if (info.isFile() && info.size > limits.maxBytes) {
    throw new InputError(file, `${what} is ${size(info.size)}, larger than the ${size(limits.maxBytes)} mesh-verify reads`, 'pass a smaller capture (e.g. a config_dump with only the needed sections)');
  }
  let text: string;
  try {
    text = info.isFile() ? await readFile(file, 'utf8') : (await readSpecial(file, what, limits)).toString('utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(file, `cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? 'read error'}`);
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

/** How deep a JSON text nests, counted on the text (linear, no recursion); stops past `limit`. */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

export function parseJsonInput(file: string, text: string, maxDepth: number = INPUT_LIMITS.maxDepth): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
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
  if (typeof value === 'object' && value !== null && jsonDepth(text, maxDepth) > maxDepth) {
    throw new InputError(file, `JSON nests deeper than ${maxDepth} levels, more than any Envoy capture or bundle`, 'check that the file is the capture you meant');
  }
  return value;
}

function lineColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}
