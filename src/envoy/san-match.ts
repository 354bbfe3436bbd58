import type { SanMatcher } from './types.js';

/**
 * Would a peer certificate with SAN `identity` pass these matchers (as Envoy applies them: any
 * one matcher suffices)? `sanType` 'DNS'/'URI' matchers only test identities of that shape.
 * No matchers means no SAN check (true).
 */
export function sanMatches(matchers: SanMatcher[], identity: string): boolean {
  if (matchers.length === 0) return true;
  return matchers.some((m) => matcherAccepts(m, identity));
}

function matcherAccepts(m: SanMatcher, identity: string): boolean {
  const isUri = /^[a-z][a-z0-9+.-]*:\/\//i.test(identity);
  if (m.sanType === 'URI' && !isUri) return false;
  if (m.sanType === 'DNS' && isUri) return false;
  const subject = m.ignoreCase ? identity.toLowerCase() : identity;
  const value = m.ignoreCase ? m.value.toLowerCase() : m.value;
  switch (m.kind) {
    case 'exact':
      return subject === value;
    case 'prefix':
      return subject.startsWith(value);
    case 'suffix':
      return subject.endsWith(value);
    case 'contains':
      return subject.includes(value);
    case 'regex':
      try {
        return new RegExp(`^(?:${m.value})$`, m.ignoreCase ? 'i' : '').test(identity);
      } catch {
        return false;
      }
  }
}
