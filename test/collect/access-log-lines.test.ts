import { describe, expect, it } from 'vitest';
import { runLogLines } from '../../src/collect/access-log-lines.js';

describe('runLogLines', () => {
  it('keeps the lines carrying one of the ids, matched exactly (JSON and text formats)', () => {
    const json = (id: string) => `{"request_id":"${id}","response_code":200}`;
    const text = '[2026-01-01T00:00:00.000Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 10 3 2 "-" "curl" "mv-r-3" "web" "10.0.0.1:8080"';
    const log = [json('mv-r-1'), json('mv-r-10'), json('mv-s-1'), '', text, 'plain line mv-r-1 without quotes'].join('\n');
    expect(runLogLines(log, ['mv-r-1', 'mv-r-3'])).toEqual([json('mv-r-1'), text]);
    expect(runLogLines(log, [])).toEqual([]);
  });

  it('finds an id after a value with spaces (a peer issuer DN as real Envoy logs it)', () => {
    // Real Envoy 1.38.3 with %DOWNSTREAM_PEER_ISSUER%: the DN has spaces; the id comes after it.
    const line = '{"downstream_peer_issuer":"O=cluster.local,CN=mesh-verify lab mesh root","downstream_peer_serial":"01f62ca8","mesh_verify_id":"mv-r-1","upstream_peer_subject":null}';
    expect(runLogLines(line, ['mv-r-1'])).toEqual([line]);
    expect(runLogLines(line.replace('"mv-r-1"', '"mv-r-10"'), ['mv-r-1'])).toEqual([]);
  });
});
