import type { Protection } from '../bundle/types.js';
import type { EvidenceItem } from './types.js';

/**
 * A fact found while judging a segment, before it is compared with the segment's expectation.
 * Either it `indicates` a protection (compared with the expectation: same or stronger supports,
 * anything else contradicts), or it carries a fixed `effect` (identity checks, failures, notes).
 */
export interface Observation extends Omit<EvidenceItem, 'effect'> {
  indicates?: Protection | null;
  effect?: EvidenceItem['effect'];
  /** Short human clause for the segment summary, e.g. 'gateway access log: upstream plaintext'. */
  headline?: string;
  /** A caveat the segment summary must carry even when proven (e.g. PERMISSIVE inbound). */
  caveat?: string;
  /** The fact is about another caller's traffic, not this run's requests (e.g. plaintext from
   *  source_workload=legacy-client at the receiver): it contradicts the hop, but the summary
   *  still says what this run's own requests used. */
  otherCaller?: boolean;
  /** Evidence that could not be read or re-verified: the segment cannot be PROVEN (it stays
   *  contradicted when something contradicts it, else it is inconclusive with `headline`). */
  blocksProof?: boolean;
}

/** Sources read from configuration (intent) rather than from what happened on the wire. */
const CONFIG_SOURCES = new Set(['config_dump', 'capture']);

export function isWireSource(source: string): boolean {
  return !CONFIG_SOURCES.has(source);
}

/** Does `observed` meet `expected`? mTLS satisfies a TLS expectation; plaintext meets only plaintext. */
export function meets(expected: Protection, observed: Protection): boolean {
  if (expected === 'tls') return observed === 'tls' || observed === 'mtls';
  return expected === observed;
}

export function effectOf(o: Observation, expected: Protection): EvidenceItem['effect'] {
  if (o.effect) return o.effect;
  if (o.indicates === null || o.indicates === undefined) return 'neutral';
  return meets(expected, o.indicates) ? 'supports' : 'contradicts';
}

export const PROTECTION_LABEL: Record<Protection, string> = { tls: 'TLS', mtls: 'mTLS', plaintext: 'plaintext' };
