import type { SegmentSpec, Protection } from '../bundle/types.js';
import type { EvidenceItem, EvidenceLevel, SegmentVerdict } from './types.js';
import { PROTECTION_LABEL, effectOf, isWireSource, type Observation } from './observation.js';

const LEVEL_ORDER: EvidenceLevel[] = ['config', 'traffic', 'request', 'identity', 'wire'];
const STRENGTH: Record<Protection, number> = { plaintext: 0, tls: 1, mtls: 2 };

function toItem(o: Observation, expect: Protection): EvidenceItem {
  const item: EvidenceItem = {
    level: o.level, proxy: o.proxy, source: o.source, subject: o.subject, observed: o.observed,
    effect: effectOf(o, expect),
  };
  const expected = o.expected ?? (o.indicates !== undefined && o.indicates !== null ? PROTECTION_LABEL[expect] : undefined);
  if (expected !== undefined) item.expected = expected;
  if (o.note) item.note = o.note;
  return item;
}

/** Which contradiction explains a segment best: what the wire showed, most direct first. */
const SOURCE_RANK = ['packet_capture', 'client_handshake', 'access_log', 'xfcc', 'stats', 'prometheus', 'app_echo', 'config_dump', 'capture'];
function rank(o: Observation): number {
  const i = SOURCE_RANK.indexOf(o.source);
  return i < 0 ? SOURCE_RANK.length : i;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/**
 * The verdict rules:
 *  - contradicted: at least one item contradicts the expectation;
 *  - proven: nothing contradicts and at least one item read from the wire (traffic counters,
 *    telemetry, access logs, XFCC, app answers, the client's handshake) supports it. Config
 *    alone shows intent, not what happened, so it never proves a segment;
 *  - inconclusive: otherwise (nothing, or only absence, speaks).
 */
export function judgeSegment(seg: SegmentSpec, observations: Observation[]): SegmentVerdict {
  const items = observations.map((o) => toItem(o, seg.expect));
  const contradicting = observations.filter((_, i) => items[i].effect === 'contradicts');
  const wireSupport = observations.filter((o, i) => items[i].effect === 'supports' && isWireSource(o.source));
  const blockers = observations.filter((o) => o.blocksProof);
  const status = contradicting.length > 0 ? 'contradicted' : wireSupport.length > 0 && blockers.length === 0 ? 'proven' : 'inconclusive';
  const levels = LEVEL_ORDER.filter((l) => items.some((it) => it.level === l && it.effect !== 'neutral'));
  const caveats = unique(observations.flatMap((o) => (o.caveat ? [o.caveat] : [])));

  const strongestWire = (): Protection | undefined =>
    wireSupport.map((o) => o.indicates).filter((x): x is Protection => !!x).sort((a, b) => STRENGTH[b] - STRENGTH[a])[0];
  let observed: SegmentVerdict['observed'] = 'unknown';
  // Only other callers' traffic contradicts: say what this run's own requests used.
  const othersOnly = status === 'contradicted' && wireSupport.length > 0 && contradicting.every((o) => o.otherCaller);
  if (status === 'contradicted') {
    const own = contradicting.filter((o) => !o.otherCaller);
    const shown = own.find((o) => o.indicates && isWireSource(o.source)) ?? own.find((o) => o.indicates);
    observed = shown?.indicates ?? strongestWire() ?? 'unknown';
  } else if (status === 'proven') {
    observed = strongestWire() ?? seg.expect;
  }

  const label = PROTECTION_LABEL[seg.expect];
  let summary: string;
  if (othersOnly) {
    const sources = unique(wireSupport.map((o) => o.source.replace(/_/g, ' ')));
    const others = unique(contradicting.map((o) => o.headline ?? `${o.source} ${o.subject}: ${o.observed}`));
    summary = `${label} for this run's requests (${sources.join(', ')}); ${others.join('; ')}${caveats.length ? `; ${caveats.join('; ')}` : ''}`;
  } else if (status === 'contradicted') {
    const ranked = contradicting.filter((o) => o.headline).sort((a, b) => rank(a) - rank(b));
    const primary = ranked[0] ?? contradicting[0];
    const secondary = ranked.find((o) => o !== primary && o.level === 'identity' && !isWireSource(o.source) && isWireSource(primary.source));
    const clause = (o: Observation): string => o.headline ?? `${o.source} ${o.subject} on ${o.proxy ?? '-'}: ${o.observed}`;
    summary = `expected ${label}, but ${clause(primary)}${secondary ? `; ${clause(secondary)}` : ''}`;
  } else if (status === 'proven') {
    const sources = unique(wireSupport.map((o) => o.source.replace(/_/g, ' ')));
    summary = `${label} proven by ${sources.join(', ')}${caveats.length ? `; but ${caveats.join('; ')}` : ''}`;
  } else if (blockers.length > 0) {
    const lines = unique(blockers.map((o) => o.headline ?? `${o.subject}: ${o.observed}`));
    const sources = unique(wireSupport.map((o) => o.source.replace(/_/g, ' ')));
    summary = `${label} not proven${sources.length ? ` (${sources.join(', ')} would show it)` : ''}: ${lines.slice(0, 3).join('; ')}`;
  } else {
    const configSays = observations.some((o, i) => items[i].effect === 'supports' && !isWireSource(o.source));
    const gaps = unique(observations.filter((o, i) => items[i].effect === 'neutral' && o.headline).map((o) => o.headline as string));
    const lead = configSays ? `config shows ${label} (intent), but nothing from the wire confirms it` : `no evidence shows ${label}`;
    summary = `${lead}${gaps.length ? `: ${gaps.slice(0, 3).join('; ')}` : ''}`;
  }
  const verdict: SegmentVerdict = {
    id: seg.id, from: seg.from, to: seg.to, expect: seg.expect, observed, status, summary, levels, evidence: items,
  };
  if (caveats.length) verdict.caveats = caveats;
  return verdict;
}
