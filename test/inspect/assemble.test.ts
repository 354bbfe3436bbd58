import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleInspectResult } from '../../src/inspect/assemble.js';
import { inspectConfigDump } from '../../src/envoy/config-dump.js';
import { parseStats } from '../../src/envoy/stats.js';
import { parseCerts } from '../../src/envoy/certs.js';
import { renderPostureTable } from '../../src/report/posture-table.js';
import { formatColumns } from '../../src/report/posture-columns.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/envoy/${name}`, import.meta.url), 'utf8');
const NOW = new Date('2025-06-01T00:00:00Z');

describe('assembleInspectResult', () => {
  const posture = inspectConfigDump(JSON.parse(fixture('gateway-tls-config_dump.json')), { now: NOW });
  it('counts ssl handshakes per listener and cluster, control plane flagged', () => {
    // gateway-stats.txt has Istio >= 1.23 names (cluster.<name>;.ssl.*, alt_stat_name `<name>;`,
    // istio pilot/pkg/networking/core/cluster_builder.go at 1.30.3); the cluster is named without ';'.
    const r = assembleInspectResult(posture, undefined, parseStats(fixture('gateway-stats.txt')));
    expect(r.stats?.listeners).toEqual([{ name: '0.0.0.0_8443', handshakes: 7, connectionErrors: 1 }]);
    expect(r.stats?.clusters).toEqual([
      { name: 'outbound|8080||bff.mesh-verify.svc.cluster.local', handshakes: 3, connectionErrors: 0, verifyFailures: 0, controlPlane: false },
      { name: 'xds-grpc', handshakes: 1, connectionErrors: 0, verifyFailures: 0, controlPlane: true },
    ]);
    expect(r.stats?.dataPlaneSslStats).toBe(true);
    expect(r.certificates).toBeUndefined();
  });
  it('says when only control-plane ssl stats exist', () => {
    const r = assembleInspectResult(posture, undefined, parseStats('cluster.xds-grpc.ssl.handshake: 2\nserver.live: 1\n'));
    expect(r.stats?.dataPlaneSslStats).toBe(false);
    expect(r.stats?.notes).toHaveLength(2);
  });
  it('matches /certs serials to SDS secrets', () => {
    const strict = inspectConfigDump(JSON.parse(fixture('sidecar-strict-config_dump.json')), { now: NOW });
    const r = assembleInspectResult(strict, parseCerts(JSON.parse(fixture('sidecar-strict-certs.json'))));
    expect(r.certificates?.entries.map((e) => e.secret)).toEqual(['ROOTCA', 'default']);
    const none = assembleInspectResult(strict, []);
    expect(none.certificates).toEqual({ entries: [], minDaysUntilExpiration: null });
  });
  it('computes days left from the matching secret when /certs has no expiration_time', () => {
    // A /certs entry without expiration_time (an optional Timestamp in envoy.admin.v3
    // CertificateDetails) still has its serial, and the dump holds the certificate itself.
    const strict = inspectConfigDump(JSON.parse(fixture('sidecar-strict-config_dump.json')), { now: NOW });
    const certs = parseCerts(JSON.parse(fixture('sidecar-strict-certs.json')));
    for (const d of certs.flatMap((e) => [...e.caCert, ...e.certChain])) d.expirationTime = null;
    const r = assembleInspectResult(strict, certs, undefined, new Date('2025-12-31T12:00:00Z'));
    const chain = r.certificates!.entries.find((e) => e.role === 'chain')!;
    expect(chain).toMatchObject({ daysUntilExpiration: 0, expired: false, capturedDaysUntilExpiration: 214, expirationTime: '2026-01-01T00:00:00.000Z', secret: 'default' });
  });
});

describe('posture table', () => {
  it('formats columns with upper-case headers and - for empty cells', () => {
    expect(formatColumns(['name', 'value'], [['a', null], ['long-name', true]])).toBe('NAME       VALUE\na          -\nlong-name  yes');
  });
  it('is deterministic and sorts listeners by port', () => {
    const posture = inspectConfigDump(JSON.parse(fixture('gateway-tls-config_dump.json')), { now: NOW });
    const reversed = { ...posture, listeners: [...posture.listeners].reverse(), clusters: [...posture.clusters].reverse() };
    const a = renderPostureTable(posture);
    expect(renderPostureTable(reversed)).toBe(a);
    const rows = a.split('LISTENERS\n')[1].split('\n\n')[0].split('\n').slice(1).filter((l) => !/^\S+: /.test(l));
    const ports = rows.map((l) => Number(l.split(/ +/)[1]));
    expect(ports).toEqual([8080, 8443, 8444, 9443, 15021]);
  });
});
