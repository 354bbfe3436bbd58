import { describe, expect, it } from 'vitest';
import { withRequestIdTrails } from '../../src/collect/request-ids.js';
import { runLogLines } from '../../src/collect/access-log-lines.js';
import { correlationIds } from '../../src/bundle/correlation.js';
import type { ProxyCapture, RequestRecord } from '../../src/bundle/types.js';

// Behind Istio's gateway every hop logs the gateway's new UUID (Envoy >= 1.33 replaces the
// client's x-request-id at a use_remote_address listener; envoy source/common/http/conn_manager_utility.cc),
// and a proxy may rewrite its version nibble with its trace decision (envoy source/extensions/request_id/uuid/config.cc).
const UUID = '93c81872-d174-46b4-8e7f-bd75b114efbb';
const SAMPLED = '93c81872-d174-96b4-8e7f-bd75b114efbb';
const line = (f: Record<string, string>) => JSON.stringify({ response_code: 200, ...f });

const request: RequestRecord = {
  id: 'mv-r-1', requestIds: { sent: 'mv-r-1', seen: [] }, sentAt: '2026-01-01T00:00:00.000Z', path: '/', status: 200, error: null, durationMs: 3, reusedConnection: false,
  response: {
    service: 'bff', pod: 'bff-1', requestId: UUID, meshVerifyId: 'mv-r-1', method: 'GET', path: '/', headers: { 'x-mesh-verify-id': 'mv-r-1', 'x-request-id': UUID },
    upstream: { url: 'http://svc:8080/', status: 200, error: null, body: { service: 'svc', pod: 'svc-1', requestId: UUID, meshVerifyId: 'mv-r-1', method: 'GET', path: '/', headers: {} } },
  },
};

function capture(id: string, accessLog: string[]): ProxyCapture {
  return {
    id, role: id === 'gateway' ? 'gateway' : 'sidecar', pod: { namespace: 'ns', name: `${id}-1`, ip: null }, expectedIdentity: null, via: 'fixture', reachable: true, errors: [],
    admin: { serverInfo: null, configDump: null, certs: null, clusters: null, statsBefore: null, statsAfter: null, prometheusBefore: null, prometheusAfter: null },
    accessLog,
  };
}

describe('the run\'s log lines and the x-request-id of each hop', () => {
  it('keeps lines carrying our id or the x-request-id the apps saw (any trace nibble), nothing else', () => {
    const log = [
      line({ request_id: UUID, mesh_verify_id: 'mv-r-1' }),
      line({ request_id: SAMPLED }), // a format without mesh_verify_id; the gateway packed "sampled"
      line({ request_id: 'mv-r-1' }), // kept by the text match: the analyzer decides what ties
      line({ request_id: '11111111-2222-4333-8444-555555555555', mesh_verify_id: 'mv-r-10' }),
    ].join('\n');
    const ids = correlationIds([request]);
    expect(ids).toEqual(['mv-r-1', UUID]);
    expect(runLogLines(log, ids)).toEqual(log.split('\n').slice(0, 3));
  });

  it('records per request what every proxy logged and every app saw, in path order', () => {
    const proxies = [
      capture('gateway', [line({ request_id: SAMPLED, mesh_verify_id: 'mv-r-1' }), line({ request_id: 'x', mesh_verify_id: 'mv-other-1' })]),
      capture('bff', [line({ request_id: UUID, mesh_verify_id: 'mv-r-1' }), line({ request_id: UUID, mesh_verify_id: 'mv-r-1', upstream_cluster: 'outbound|8080||svc' })]),
      capture('svc', [line({ request_id: UUID })]),
    ];
    const [r] = withRequestIdTrails([request], proxies);
    expect(r.requestIds).toEqual({
      sent: 'mv-r-1',
      seen: [
        { at: 'gateway', source: 'access_log', requestId: SAMPLED },
        { at: 'bff', source: 'access_log', requestId: UUID },
        { at: 'svc', source: 'access_log', requestId: UUID },
        { at: 'bff', source: 'app_echo', requestId: UUID },
        { at: 'svc', source: 'app_echo', requestId: UUID },
      ],
    });
  });
});
