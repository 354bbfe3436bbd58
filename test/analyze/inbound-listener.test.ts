import { describe, expect, it } from 'vitest';
import type { ProxyCapture } from '../../src/bundle/types.js';
import { analyzeAtRun, loadFixture, segment } from './fixture-bundles.js';

/**
 * The receiving sidecar's virtualInbound listener (0.0.0.0:15006, stats listener.0.0.0.0_15006.*)
 * counts the mTLS handshakes it accepts. It serves every caller of the pod, so its count supports
 * a hop only when the caller opened new connections on the hop's cluster during the run.
 */
const SUBJECT = 'listener.0.0.0.0_15006.ssl.handshake';

function setStat(p: ProxyCapture, name: string, value: number): void {
  const a = p.admin.statsAfter as { body: string };
  a.body = [...a.body.split('\n').filter((l) => l && !l.startsWith(`${name}: `)), `${name}: ${value}`].join('\n') + '\n';
}

describe('the receiving listener\'s handshake counters', () => {
  it('support bff -> svc, where bff opened a new connection and svc accepted a handshake', () => {
    const hop = segment(analyzeAtRun(loadFixture('healthy')), 'bff-sidecar->svc-sidecar');
    expect(hop.evidence.find((e) => e.subject === SUBJECT)).toMatchObject({ proxy: 'svc', effect: 'supports', observed: '+1 (downstream_cx_total +1)' });
  });

  it('stay neutral when the caller opened no connection (pooled): the handshake may be another caller\'s', () => {
    const b = loadFixture('healthy');
    setStat(b.proxies.find((p) => p.id === 'bff')!, SUBJECT, 9);
    const hop = segment(analyzeAtRun(b), 'gateway->bff-sidecar');
    expect(hop.evidence.find((e) => e.subject === SUBJECT)).toMatchObject({ proxy: 'bff', effect: 'neutral' });
  });

  it('absent listener ssl.* stats are no evidence either way', () => {
    const hop = segment(analyzeAtRun(loadFixture('stats-filtered')), 'bff-sidecar->svc-sidecar');
    expect(hop.evidence.find((e) => e.subject === SUBJECT)).toMatchObject({ effect: 'neutral', observed: 'not present' });
  });
});
