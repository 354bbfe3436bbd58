import { describe, expect, it } from 'vitest';
import type { EvidenceBundle, WireEvidence, WireHop } from '../../src/bundle/types.js';
import { validateBundle } from '../../src/bundle/validate.js';
import { renderPathReport } from '../../src/report/path-report.js';
import { analyzeAtRun, loadFixture, segment } from './fixture-bundles.js';

/** The wire level (path --lab --capture) as the analyzer judges it, on the healthy fixture bundle. */
const PLAINTEXT = new Set(['bff-sidecar->bff', 'bff->bff-sidecar', 'svc-sidecar->svc']);

function hop(segmentId: string, over: Partial<WireHop> = {}): WireHop {
  const plain = PLAINTEXT.has(segmentId);
  return {
    segment: segmentId, address: '127.9.9.1', port: 8080, connections: 1, payloadBytes: 4000,
    markerHits: plain ? 3 : 0, markersSeen: plain ? ['mv-x-1'] : [],
    tls: plain ? { handshakeRecords: 0, clientHellos: 0, applicationDataRecords: 0, versions: [] }
      : { handshakeRecords: 2, clientHellos: 1, applicationDataRecords: 9, versions: ['0x0301', '0x0303'] },
    plaintextHttp: { connections: plain ? 1 : 0, withoutMarker: 0, otherSources: [] },
    sample: plain ? 'GET / HTTP/1.1 | x-mesh-verify-id: mv-x-1' : null,
    ...over,
  };
}

function withWire(b: EvidenceBundle, hops: (id: string) => Partial<WireHop> = () => ({}), status: WireEvidence['status'] = 'captured'): EvidenceBundle {
  b.wire = {
    status, reason: status === 'unavailable' ? 'packet capture unavailable: tcpdump not found (fix: ...); the wire level is skipped' : null,
    tool: status === 'captured' ? 'tcpdump 4.99.3' : null, interface: 'lo', filter: 'tcp and (...)',
    startedAt: b.run.startedAt, finishedAt: b.run.startedAt, packets: 150, bytes: 60000, truncated: false,
    marker: { header: 'x-mesh-verify-id', values: 3, example: 'mv-x-1' },
    hops: status === 'captured' ? b.path.segments.map((s) => hop(s.id, hops(s.id))) : [],
  };
  return b;
}

describe('the wire level', () => {
  it('backs every healthy segment with the capture: the marker on plaintext hops, TLS records on TLS hops', () => {
    const b = withWire(loadFixture('healthy'));
    expect(validateBundle(b).valid).toBe(true);
    const r = analyzeAtRun(b);
    expect(r.overall).toBe('proven');
    for (const s of r.segments) {
      expect([s.id, s.levels.at(-1)]).toEqual([s.id, 'wire']);
      const items = s.evidence.filter((e) => e.level === 'wire');
      expect(items.map((e) => [e.source, e.effect])).toEqual([['packet_capture', 'supports']]);
      expect(items[0].observed).toMatch(PLAINTEXT.has(s.id) ? /marker in cleartext/ : /TLS records \(1 ClientHello.*none of the run's 3 marker/);
    }
    expect(segment(r, 'gateway->bff-sidecar').evidence.find((e) => e.level === 'wire')?.note).toMatch(/control.*bff-sidecar->bff.*identity level shows mTLS/);
    expect(r.notes?.join('\n')).toMatch(/Wire level: tcpdump 4.99.3 on lo recorded 150 TCP segments/);
    expect(renderPathReport(r, 'table', { verbose: false, width: 400 })).toMatch(/gateway->bff-sidecar .*identity, wire/);
  });

  it('contradicts a TLS hop whose bytes carry the marker in cleartext, and says so first', () => {
    const b = withWire(loadFixture('healthy'), (id) => (id === 'gateway->bff-sidecar'
      ? { markerHits: 3, markersSeen: ['mv-x-1'], tls: { handshakeRecords: 0, clientHellos: 0, applicationDataRecords: 0, versions: [] }, sample: 'x-mesh-verify-id: mv-x-1' }
      : {}));
    const s = segment(analyzeAtRun(b), 'gateway->bff-sidecar');
    expect(s.status).toBe('contradicted');
    expect(s.observed).toBe('plaintext');
    expect(s.summary).toMatch(/^expected mTLS, but the packet capture saw this run's marker \(x-mesh-verify-id\) in cleartext on 127\.9\.9\.1:8080/);
  });

  it('proves nothing from an absent marker when the control failed (no marker on any plaintext hop)', () => {
    const b = withWire(loadFixture('healthy'), (id) => (PLAINTEXT.has(id)
      ? { markerHits: 0, markersSeen: [], sample: null, plaintextHttp: { connections: 1, withoutMarker: 1, otherSources: ['127.0.0.1'] } }
      : {}));
    const r = analyzeAtRun(b);
    const wireOf = (id: string) => segment(r, id).evidence.filter((e) => e.level === 'wire');
    expect(wireOf('client->nlb').map((e) => e.effect)).toEqual(['neutral']);
    expect(segment(r, 'client->nlb').levels).not.toContain('wire');
    // A plaintext hop with cleartext HTTP but not the marker: neutral, neither supports nor contradicts.
    expect(wireOf('bff-sidecar->bff').map((e) => e.effect)).toEqual(['neutral']);
    expect(segment(r, 'bff-sidecar->bff').levels).not.toContain('wire');
    expect(r.overall).toBe('proven'); // the other levels still prove the path
  });

  it('contradicts an mTLS hop where another caller sent cleartext HTTP, as the other caller\'s traffic', () => {
    const b = withWire(loadFixture('healthy'), (id) => (id === 'bff-sidecar->svc-sidecar'
      ? { connections: 2, plaintextHttp: { connections: 1, withoutMarker: 1, otherSources: ['127.9.9.13'] } }
      : {}));
    const s = segment(analyzeAtRun(b), 'bff-sidecar->svc-sidecar');
    expect(s.status).toBe('contradicted');
    expect(s.summary).toMatch(/^mTLS for this run's requests .*packet capture.*; the packet capture saw cleartext HTTP to 127\.9\.9\.1:8080 from 127\.9\.9\.13 \(not this run's requests\)/);
  });

  it('skips only the wire level when the capture was unavailable, and says why', () => {
    const plain = analyzeAtRun(loadFixture('healthy'));
    const r = analyzeAtRun(withWire(loadFixture('healthy'), () => ({}), 'unavailable'));
    expect(r.segments.map((s) => [s.id, s.status, s.levels])).toEqual(plain.segments.map((s) => [s.id, s.status, s.levels]));
    expect(r.exitCode).toBe(plain.exitCode);
    expect(r.notes).toContain('The wire level was skipped: packet capture unavailable: tcpdump not found (fix: ...); the wire level is skipped.');
  });
});
