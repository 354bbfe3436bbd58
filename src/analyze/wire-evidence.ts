import type { Protection, SegmentSpec, WireEvidence, WireHop } from '../bundle/types.js';
import type { Observation } from './observation.js';
import type { AnalysisContext } from './proxy-facts.js';

/**
 * The wire level (`path --lab --capture`): what a packet capture of the hop's bytes showed. In the
 * style of cilium-cli's pod-to-pod-encryption test (cilium-cli connectivity/tests/encryption.go:
 * tcpdump on the path while the client sends requests, then "no unencrypted packet is leaked"),
 * judged in pairs so that an empty capture cannot pass:
 *  - the control: the run's marker (its x-mesh-verify-id values) is in the cleartext bytes of the
 *    plaintext hops, which proves the capture records payloads and would see the marker;
 *  - the witness: on TLS/mTLS hops the marker is absent and TLS records (handshake 0x16,
 *    application data 0x17) are there instead.
 * An absent marker proves nothing when the control failed. A capture shows that bytes are
 * encrypted, not who authenticated: mTLS itself is shown at the identity level. Pure.
 */
const SOURCE = 'packet_capture';

function expectOf(ctx: AnalysisContext, segment: string): Protection | null {
  return ctx.bundle.path.segments.find((s) => s.id === segment)?.expect ?? null;
}

/** Did the capture see the marker on at least one hop that is expected in plaintext? */
export function controlHolds(ctx: AnalysisContext, wire: WireEvidence): WireHop | null {
  return wire.hops.find((h) => expectOf(ctx, h.segment) === 'plaintext' && h.markerHits > 0) ?? null;
}

function tlsRecords(h: WireHop): number {
  return h.tls.handshakeRecords + h.tls.applicationDataRecords;
}

export function wireObservations(ctx: AnalysisContext, seg: SegmentSpec): Observation[] {
  const wire = ctx.bundle.wire;
  if (!wire || wire.status !== 'captured') return [];
  const hop = wire.hops.find((h) => h.segment === seg.id);
  if (!hop) return [];
  const where = `${hop.address}:${hop.port}`;
  const subject = `connections to ${where} (${hop.connections} connection(s), ${hop.payloadBytes} payload bytes)`;
  const base = { level: 'wire' as const, proxy: null, source: SOURCE, subject };
  if (hop.connections === 0 || hop.payloadBytes === 0) {
    return [{ ...base, observed: 'no traffic captured', indicates: null, headline: `the capture saw no traffic to ${where}` }];
  }
  const out: Observation[] = [];
  const encrypted = seg.expect !== 'plaintext';
  if (hop.markerHits > 0) {
    out.push({
      ...base,
      observed: `this run's marker in cleartext ${hop.markerHits} time(s) (${hop.markersSeen.length} value(s), e.g. ${hop.markersSeen[0] ?? '-'})${hop.sample ? `: "${hop.sample}"` : ''}`,
      indicates: 'plaintext',
      headline: `the packet capture saw this run's marker (x-mesh-verify-id) in cleartext on ${where}`,
      ...(encrypted ? {} : { note: 'the control: the capture records payloads and finds the marker where the hop is cleartext' }),
    });
  } else if (tlsRecords(hop) > 0) {
    const records = `${hop.tls.clientHellos} ClientHello, ${hop.tls.handshakeRecords} handshake and ${hop.tls.applicationDataRecords} application-data record(s), record versions ${hop.tls.versions.join(', ') || '-'}`;
    const observed = `TLS records (${records}); none of the run's ${wire.marker.values} marker value(s) in ${hop.payloadBytes} bytes`;
    if (!encrypted) {
      out.push({ ...base, observed, indicates: 'tls', headline: `the packet capture saw TLS, not cleartext, on ${where}` });
    } else {
      const control = controlHolds(ctx, wire);
      const noHello = hop.tls.handshakeRecords === 0 ? '; no handshake in the capture (the connection was opened before it started)' : '';
      out.push(control
        ? {
          ...base, observed: `${observed}${noHello}`, indicates: 'tls', effect: 'supports',
          note: `the control: the same capture saw the marker in cleartext on ${control.segment}${seg.expect === 'mtls' ? '; a capture shows encryption, not who authenticated (the identity level shows mTLS)' : ''}`,
        }
        : {
          ...base, observed, indicates: null,
          headline: 'the capture saw no marker on any plaintext hop (its control failed), so no marker here proves nothing',
        });
    }
  } else if (hop.plaintextHttp.connections === 0) {
    out.push({ ...base, observed: `neither the run's marker nor TLS records in ${hop.payloadBytes} bytes`, indicates: null, headline: `the capture saw neither the marker nor TLS on ${where}` });
  }
  if (hop.plaintextHttp.withoutMarker > 0) {
    const from = hop.plaintextHttp.otherSources.join(', ') || 'unknown sources';
    const observed = `${hop.plaintextHttp.withoutMarker} cleartext HTTP connection(s) without the run's marker, from ${from}`;
    out.push(encrypted
      ? { ...base, observed, indicates: 'plaintext', otherCaller: hop.markerHits === 0, headline: `the packet capture saw cleartext HTTP to ${where} from ${from} (not this run's requests)` }
      : { ...base, observed, effect: 'neutral' });
  }
  return out;
}
