import { describe, expect, it } from 'vitest';
import { parseAccessLogLine } from '../../src/envoy/access-log.js';
import { parseXfcc } from '../../src/envoy/xfcc.js';
import { ACCESS_LOG_FORMAT } from '../../src/envoy/access-log-format.js';

describe('parseAccessLogLine', () => {
  const line = JSON.stringify({
    start_time: '2025-06-01T10:00:00.000Z', method: 'GET', path: '/echo', response_code: 200, response_flags: '-',
    request_id: 'mv-1', upstream_cluster: 'inbound|8080||', upstream_host: '127.0.0.1:8080',
    downstream_peer_uri_san: 'spiffe://cluster.local/ns/mesh-verify/sa/bff', downstream_tls_version: 'TLSv1.3',
    downstream_peer_cert_sha256: 'ab'.repeat(32), upstream_tls_version: '', requested_server_name: 'outbound_.8080_._.svc.mesh-verify.svc.cluster.local',
  });
  it('reads the configured keys, turning - and empty into null', () => {
    const e = parseAccessLogLine(line)!;
    expect(e).toMatchObject({
      requestId: 'mv-1', method: 'GET', responseCode: 200, responseFlags: null, upstreamTlsVersion: null,
      downstreamPeerUriSan: 'spiffe://cluster.local/ns/mesh-verify/sa/bff', downstreamTlsVersion: 'TLSv1.3', upstreamCluster: 'inbound|8080||',
    });
    expect(e.raw.path).toBe('/echo');
  });
  it('tolerates kubectl prefixes and string response codes', () => {
    const e = parseAccessLogLine(`[pod/svc-1/istio-proxy] 2025-06-01T10:00:00.1Z ${line.replace('"response_code":200', '"response_code":"503"')}`);
    expect(e?.responseCode).toBe(503);
  });
  it('returns null for non-JSON lines', () => {
    expect(parseAccessLogLine('2025-06-01T10:00:00Z info envoy starting')).toBeNull();
    expect(parseAccessLogLine('{not json}')).toBeNull();
    expect(parseAccessLogLine('[1,2]')).toBeNull();
  });
  it('every key the parser reads is one ACCESS_LOG_FORMAT configures', () => {
    const keys = Object.keys(ACCESS_LOG_FORMAT);
    const all = Object.fromEntries(keys.map((k) => [k, 'x']));
    const e = parseAccessLogLine(JSON.stringify(all))!;
    const nonRaw = Object.entries(e).filter(([k]) => k !== 'raw' && k !== 'responseCode');
    expect(nonRaw.every(([, v]) => v === 'x')).toBe(true);
  });
});

describe('parseXfcc', () => {
  it('parses Envoy elements with quoted values and escapes', () => {
    const h = 'By=spiffe://cluster.local/ns/mesh-verify/sa/svc;Hash=ABCDEF0123;Subject="CN=a, O=\\"x;y\\"";URI=spiffe://cluster.local/ns/mesh-verify/sa/bff;DNS=bff.local;DNS=bff2.local,'
      + 'By=spiffe://cluster.local/ns/mesh-verify/sa/bff;Hash=99;Subject="";URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
    expect(parseXfcc(h)).toEqual([
      { by: 'spiffe://cluster.local/ns/mesh-verify/sa/svc', hash: 'abcdef0123', subject: 'CN=a, O="x;y"', uri: ['spiffe://cluster.local/ns/mesh-verify/sa/bff'], dns: ['bff.local', 'bff2.local'] },
      { by: 'spiffe://cluster.local/ns/mesh-verify/sa/bff', hash: '99', subject: null, uri: ['spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'], dns: [] },
    ]);
  });
  it('gives [] for an empty header and ignores pairs without =', () => {
    expect(parseXfcc('')).toEqual([]);
    expect(parseXfcc('garbage')).toEqual([]);
    expect(parseXfcc('hash=aa;uri=spiffe://x/y')).toEqual([{ by: null, hash: 'aa', subject: null, uri: ['spiffe://x/y'], dns: [] }]);
  });
});
