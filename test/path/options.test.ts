import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { parsePathOptions } from '../../src/path/options.js';
import { newRunId } from '../../src/path/run-id.js';
import { isValidLabelValue } from '../../src/topology/managed-labels.js';
import { opensslHasMlKem } from '../helpers/pq-client-node.js';

describe('parsePathOptions', () => {
  it('parses --gateway NAMESPACE/SERVICE', () => {
    expect(parsePathOptions({ gateway: 'istio-ingress/istio-ingress' }).gateway).toEqual({ namespace: 'istio-ingress', name: 'istio-ingress' });
  });

  it('parses --entry HOST:PORT, IPv6 in brackets too', () => {
    expect(parsePathOptions({ entry: 'nlb.example.com:443' }).entry).toEqual({ address: 'nlb.example.com', port: 443 });
    expect(parsePathOptions({ entry: '[::1]:9443' }).entry).toEqual({ address: '::1', port: 9443 });
  });

  it('has the documented defaults', () => {
    expect(parsePathOptions({})).toEqual({
      lab: false, fault: null, scenario: null, context: null, kubeconfig: null, requests: 10, freshConnections: false,
      deploy: true, keep: false, expect: null, output: 'table', reportDir: null, bundle: null, entry: null, gateway: null, envoy: null,
      capture: false, captureTool: null, clientOffer: { groups: null, ciphers: null }, meshConfig: null, labApply: null,
    });
  });

  it('takes --capture (and --capture-tool) with --lab only', () => {
    expect(parsePathOptions({ lab: true, capture: true, captureTool: '/usr/sbin/tcpdump' })).toMatchObject({ capture: true, captureTool: '/usr/sbin/tcpdump' });
    expect(() => parsePathOptions({ capture: true })).toThrow(/--capture needs --lab/);
    expect(() => parsePathOptions({ lab: true, captureTool: 'tcpdump' })).toThrow(/--capture-tool needs --capture/);
  });

  it.each([
    [{ fault: 'expired-cert' }, /--fault needs --lab/],
    [{ lab: true, fault: 'nope' }, /unknown --fault "nope".*plaintext-gateway-bff/],
    [{ scenario: 'nope' }, /unknown --scenario "nope".*dr-disable/],
    [{ lab: true, context: 'kind-x' }, /--lab cannot be combined with --context/],
    [{ envoy: '/usr/bin/envoy' }, /--envoy needs --lab/],
    [{ scenario: 'dr-disable', deploy: false }, /cannot be combined with --no-deploy/],
    [{ lab: true, fault: 'expired-cert', scenario: 'dr-disable' }, /--fault and --scenario cannot be combined/],
    [{ requests: '0' }, /--requests must be a whole number/],
    [{ requests: 'ten' }, /--requests must be a whole number/],
    [{ expect: 'maybe' }, /--expect must be proven or contradicted/],
    [{ output: 'xml' }, /unknown output format "xml".*table\|wide\|json\|junit\|markdown/],
    [{ entry: 'host:99999' }, /--entry must be HOST:PORT/],
    [{ lab: true, entry: '127.0.0.1:9443' }, /--entry cannot be combined with --lab/],
    [{ gateway: 'istio-ingress' }, /--gateway must be NAMESPACE\/SERVICE/],
    [{ gateway: 'a/b/c' }, /--gateway must be NAMESPACE\/SERVICE/],
    [{ gateway: 'Istio_Ingress/x' }, /--gateway must be NAMESPACE\/SERVICE/],
    [{ lab: true, gateway: 'istio-ingress/istio-ingress' }, /--gateway cannot be combined with --lab/],
    [{ tlsGroups: 'P-256:P-999' }, /^--tls-groups: this client .* cannot offer "P-999" give OpenSSL group names/],
    [{ tlsGroups: ' : ' }, /^--tls-groups: no group given/],
    [{ tlsCiphers: 'TLS_AES_128_GCM_SHA256:RC5-MAGIC' }, /^--tls-ciphers: this client .* does not know "RC5-MAGIC"/],
    [{ meshConfig: 'fixtures/istio/mesh-config-fips.yaml' }, /^--mesh-config needs --lab/],
    [{ apply: 'fixtures/istio/envoyfilter-fips-mesh-groups.yaml' }, /^--apply needs --lab.*kubectl apply -f/],
  ])('rejects %j with a usage error', (raw, message) => {
    let err: unknown;
    try { parsePathOptions(raw); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UsageError);
    expect(`${(err as UsageError).message} ${(err as UsageError).fix ?? ''}`).toMatch(message);
  });

  it('takes what the client offers (--tls-groups, --tls-ciphers), IANA cipher names as OpenSSL names', () => {
    expect(parsePathOptions({ tlsGroups: 'P-256:secp384r1', tlsCiphers: 'TLS_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256' }).clientOffer)
      .toEqual({ groups: ['P-256', 'secp384r1'], ciphers: ['TLS_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES128-GCM-SHA256'] });
    expect(parsePathOptions({ lab: true, meshConfig: 'm.yaml' }).meshConfig).toBe('m.yaml');
  });

  it('accepts a lab fault, a scenario and the output flags', () => {
    const o = parsePathOptions({ lab: true, fault: 'stats-filtered', requests: '3', output: 'json', expect: 'contradicted', freshConnections: true });
    expect([o.lab, o.fault, o.requests, o.output, o.expect, o.freshConnections]).toEqual([true, 'stats-filtered', 3, 'json', 'contradicted', true]);
    expect(parsePathOptions({ lab: true, scenario: 'permissive-svc' })).toMatchObject({ scenario: 'permissive-svc', deploy: true });
    // A lab fault is verified as injected: re-applying the topology would repair it.
    expect(o.deploy).toBe(false);
    expect(parsePathOptions({ lab: true }).deploy).toBe(true);
  });
});

describe('--tls-groups X25519MLKEM768, by what this Node\'s OpenSSL can offer', () => {
  it(opensslHasMlKem() ? `is accepted (OpenSSL ${process.versions.openssl} has ML-KEM)` : `is refused with the ML-KEM hint (OpenSSL ${process.versions.openssl} has none)`, () => {
    if (opensslHasMlKem()) {
      expect(parsePathOptions({ tlsGroups: 'X25519MLKEM768' }).clientOffer.groups).toEqual(['X25519MLKEM768']);
      return;
    }
    let err: unknown;
    try { parsePathOptions({ tlsGroups: 'X25519MLKEM768' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UsageError);
    expect(`${(err as UsageError).message} ${(err as UsageError).fix ?? ''}`).toMatch(/^--tls-groups: .*cannot offer "X25519MLKEM768".*no ML-KEM groups; Node 24's OpenSSL 3\.5 has X25519MLKEM768/);
  });
});

describe('newRunId', () => {
  it('is a valid label value made of the UTC time and a random suffix', () => {
    const id = newRunId(new Date('2026-03-04T05:06:07.890Z'), () => 'beef');
    expect(id).toBe('20260304t050607-beef');
    expect(isValidLabelValue(id)).toBe(true);
    expect(newRunId()).not.toBe(newRunId());
  });
});
