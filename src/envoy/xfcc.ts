import { splitOutsideQuotes } from './quoted-split.js';

/** One element of an `x-forwarded-client-cert` header (one proxy hop). */
export interface XfccElement {
  by: string | null;
  hash: string | null;
  uri: string[];
  subject: string | null;
  dns: string[];
}

/**
 * Parse Envoy's x-forwarded-client-cert header: elements separated by `,`, key=value pairs by
 * `;`, values optionally double-quoted with `\"` escapes (so `,`/`;`/`=` inside quotes are data).
 * Keys are case-insensitive (By, Hash, Cert, Chain, Subject, URI, DNS); URI and DNS may repeat.
 * Empty values (`Subject=""`) become null.
 */
export function parseXfcc(header: string): XfccElement[] {
  const elements: XfccElement[] = [];
  for (const rawElement of splitOutsideQuotes(header, ',')) {
    if (rawElement.trim() === '') continue;
    const el: XfccElement = { by: null, hash: null, uri: [], subject: null, dns: [] };
    let any = false;
    for (const pair of splitOutsideQuotes(rawElement, ';')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      const value = unquote(pair.slice(eq + 1).trim());
      any = true;
      if (key === 'by') el.by = value || null;
      else if (key === 'hash') el.hash = value ? value.toLowerCase() : null;
      else if (key === 'subject') el.subject = value || null;
      else if (key === 'uri') {
        if (value) el.uri.push(value);
      } else if (key === 'dns') {
        if (value) el.dns.push(value);
      }
    }
    if (any) elements.push(el);
  }
  return elements;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return value;
}
