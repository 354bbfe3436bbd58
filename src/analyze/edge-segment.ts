import type { ChainCertificate, SegmentSpec } from '../bundle/types.js';
import type { CertificateInfo } from '../envoy/types.js';
import type { Observation } from './observation.js';
import type { AnalysisContext, ProxyFacts } from './proxy-facts.js';
import { nodeOf, proxyOf, terminatingProxy } from './path-nodes.js';
import { listenerTraffic } from './stats-evidence.js';
import { accessLogEvidence, readDownstream } from './access-log-evidence.js';
import { quote } from '../bundle/consistency.js';

const short = (fp: string): string => `${fp.slice(0, 16)}…`;
const TLS_VERSIONS = new Set(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);

export interface CredentialComparison {
  state: 'match' | 'mismatch' | 'unknown';
  secret: string;
  proxy: ProxyFacts | undefined;
  seen: ChainCertificate | null;
  credential: CertificateInfo | null;
  reason: string;
}

/**
 * Is the leaf the external client saw the terminating proxy's credential (the SDS secret
 * `kubernetes://<credentialName>` in the gateway's config dump)? A different certificate means
 * something before the gateway (the NLB) terminated TLS.
 */
export function compareCredential(ctx: AnalysisContext, seg: SegmentSpec): CredentialComparison {
  const secret = seg.hints.serverSecret ?? '';
  const proxy = terminatingProxy(ctx, seg.to);
  const seen = ctx.bundle.client?.peerChain[0] ?? null;
  const out = (state: CredentialComparison['state'], credential: CertificateInfo | null, reason: string): CredentialComparison =>
    ({ state, secret, proxy, seen, credential, reason });
  if (!seen) return out('unknown', null, 'the client recorded no server certificate');
  if (!proxy?.posture) return out('unknown', null, `no config dump of the terminating proxy${proxy ? ` ${proxy.id}` : ''}`);
  const credential = proxy.posture.secrets.find((s) => s.name === secret && s.kind === 'certificate')?.chain[0] ?? null;
  if (!credential) return out('unknown', null, `secret ${secret} (with its certificate) is not in the config dump of ${proxy.id}`);
  if (credential.fingerprint256 === seen.fingerprint256) return out('match', credential, `the client saw ${secret} of ${proxy.id}`);
  return out('mismatch', credential, `the client saw ${seen.subject || '(no subject)'} (sha256 ${short(seen.fingerprint256)}), not ${secret} of ${proxy.id} (sha256 ${short(credential.fingerprint256)})`);
}

function clientHandshake(ctx: AnalysisContext): Observation[] {
  const c = ctx.bundle.client;
  const base = { level: 'traffic' as const, proxy: 'client', source: 'client_handshake' };
  if (!c) return [{ ...base, subject: 'TLS handshake', observed: 'no client observation in the bundle', indicates: null, headline: 'no client observation' }];
  const subject = `TLS session to ${c.connectedTo.address}:${c.connectedTo.port} (SNI ${c.sni})`;
  const out: Observation[] = [];
  const nullCipher = c.cipher !== null && /(?:^|[_-])e?NULL(?:[_-]|$)/i.test(c.cipher);
  if (c.tlsVersion && nullCipher) {
    out.push({ ...base, subject, observed: `${c.tlsVersion}, cipher ${c.cipher}`, indicates: 'plaintext', headline: `the client's session used the NULL cipher ${c.cipher}: nothing was encrypted` });
  } else if (c.tlsVersion && !TLS_VERSIONS.has(c.tlsVersion)) {
    out.push({ ...base, subject, observed: `TLS version ${JSON.stringify(c.tlsVersion)}`, indicates: null, blocksProof: true, headline: `the client's recorded TLS version ${JSON.stringify(c.tlsVersion)} is not a TLS protocol version` });
  } else if (c.tlsVersion) {
    out.push({ ...base, subject, observed: `${c.tlsVersion}, cipher ${c.cipher ?? '-'}, ALPN ${c.alpn ?? '-'}`, indicates: 'tls', headline: `the client negotiated ${c.tlsVersion}` });
  } else {
    out.push({ ...base, subject, observed: c.error ? `no TLS session: ${c.error}` : 'no TLS version recorded', indicates: null, headline: c.error ? `the client's handshake failed: ${c.error}` : 'no TLS version recorded' });
  }
  out.push({
    level: 'identity', proxy: 'client', source: 'client_handshake', subject: 'peer chain verified against the gateway CA',
    observed: c.authorized ? `yes (leaf ${c.peerChain[0]?.subject ?? '-'})` : `no${c.authorizationError ? `: ${c.authorizationError}` : ''}`,
    effect: 'neutral',
    ...(c.authorized ? {} : { note: 'the TLS session is encrypted but its server was not authenticated against PathSpec.gatewayCaPem' }),
    // A session whose server the client could not authenticate may end anywhere (an NLB, a proxy
    // in between): it proves no TLS to the gateway. This is what the run showed, not a defect of
    // the bundle, so it is the segment's own evidence (and the client-chain-untrusted finding).
    ...(!c.authorized && c.tlsVersion ? {
      blocksProof: true,
      headline: `the client could not verify the server's certificate against the gateway CA${c.authorizationError ? ` (${quote(c.authorizationError)})` : ''}: an unauthenticated session proves no TLS to the gateway`,
    } : {}),
  });
  return out;
}

function credentialEvidence(ctx: AnalysisContext, seg: SegmentSpec, decisive: boolean): Observation {
  const cmp = compareCredential(ctx, seg);
  const base = {
    level: 'identity' as const, proxy: 'client', source: 'client_handshake',
    subject: `peer certificate vs ${cmp.secret}${cmp.proxy ? ` on ${cmp.proxy.id}` : ''}`,
    expected: cmp.credential ? `sha256 ${cmp.credential.fingerprint256}` : cmp.secret,
  };
  if (cmp.state === 'match') {
    return { ...base, observed: `sha256 ${cmp.seen?.fingerprint256} (${cmp.seen?.subject || 'no subject'})`, effect: 'supports', note: 'the TLS session the client opened ends at the gateway: the NLB only forwarded it' };
  }
  if (cmp.state === 'mismatch') {
    return {
      ...base, observed: cmp.reason, effect: decisive ? 'contradicts' : 'neutral',
      headline: `TLS was terminated before the gateway: ${cmp.reason}`,
      ...(decisive ? {} : { note: 'the gateway still terminates TLS from whatever connects to it; see the client segment' }),
    };
  }
  // The comparison is what tells an NLB that terminates TLS from one that forwards it: evidence
  // that could not be read makes the client's segment inconclusive, never proven.
  return {
    ...base, observed: `not compared: ${cmp.reason}`, effect: 'neutral',
    headline: decisive ? `the gateway credential could not be compared with the certificate the client saw: ${cmp.reason}` : cmp.reason,
    ...(decisive ? { blocksProof: true } : {}),
  };
}

function listenerConfig(p: ProxyFacts, seg: SegmentSpec, host: string): Observation[] {
  const name = seg.hints.listener ?? '';
  const base = { level: 'config' as const, proxy: p.id, source: 'config_dump' };
  if (!p.posture) return [{ ...base, subject: `listener ${name}`, observed: 'no config dump', indicates: null }];
  const l = p.posture.listeners.find((x) => x.name === name);
  if (!l) return [{ ...base, subject: `listener ${name}`, observed: 'not in the config dump (no Gateway server bound to this port?)', indicates: null, headline: `listener ${name} not found on ${p.id}` }];
  if (l.state !== 'active') {
    return [{ ...base, subject: `listener ${name}`, observed: `state ${l.state}${l.error ? `: ${l.error}` : ''}`, indicates: null, note: 'a listener that is not active is not in effect' }];
  }
  const forHost = l.filterChains.filter((c) => c.serverNames.length === 0 || c.serverNames.includes(host) || c.serverNames.some((s) => s.startsWith('*.') && host.endsWith(s.slice(1))));
  return (forHost.length > 0 ? forHost : l.filterChains).map((c, i) => {
    const subject = `listener ${name} filter chain ${c.name ?? `#${i}`}${c.serverNames.length ? ` (server_names ${c.serverNames.join(',')})` : ''}`;
    const secrets = c.certificateSecrets.length ? ` with ${c.certificateSecrets.join(', ')}` : '';
    if (c.tls === 'passthrough') {
      return { ...base, subject, observed: 'TLS passthrough (no DownstreamTlsContext)', effect: 'contradicts' as const, headline: `${p.id} does not terminate TLS on ${name} (passthrough)` };
    }
    if (c.tls === 'none') return { ...base, subject, observed: 'plaintext (no transport socket)', indicates: 'plaintext' as const, headline: `${p.id} listener ${name} is plaintext` };
    const other = seg.hints.serverSecret && !c.certificateSecrets.includes(seg.hints.serverSecret);
    return {
      ...base, subject, observed: `terminates ${c.tls === 'mtls' ? 'mutual TLS' : 'TLS'}${secrets}`, indicates: c.tls,
      ...(other ? { note: `presents ${c.certificateSecrets.join(', ') || 'no SDS secret'}, not ${seg.hints.serverSecret}` } : {}),
    };
  });
}

function listenerPort(listener: string): string | null {
  const m = /_(\d+)$/.exec(listener);
  return m ? m[1] : null;
}

/**
 * Evidence for a segment entering the mesh from outside: the client's own handshake, whether the
 * certificate it saw is the gateway credential, and the gateway listener's config, counters and
 * access log.
 */
export function edgeObservations(ctx: AnalysisContext, seg: SegmentSpec): Observation[] {
  const from = nodeOf(ctx, seg.from);
  const to = nodeOf(ctx, seg.to);
  const out: Observation[] = [];
  if (from.kind === 'client') out.push(...clientHandshake(ctx));
  if (seg.hints.serverSecret) out.push(credentialEvidence(ctx, seg, from.kind === 'client'));
  const p = proxyOf(ctx, to);
  if (to.proxy && !p) out.push({ level: 'config', proxy: to.proxy, source: 'capture', subject: `proxy ${to.proxy}`, observed: 'not in the bundle', indicates: null });
  if (p && seg.hints.listener) {
    out.push(...listenerConfig(p, seg, ctx.bundle.path.host));
    out.push(...listenerTraffic(p, seg.hints.listener));
    const port = listenerPort(seg.hints.listener);
    // Prefer entries whose local address is the listener's port; a proxy behind port mapping
    // (or the lab) logs another local port, and then every entry of this run's requests counts.
    const onPort = p.access.filter((e) => port && e.downstreamLocalAddress?.endsWith(`:${port}`));
    const entries = onPort.length > 0 ? onPort : p.access;
    out.push(...accessLogEvidence(p, entries, `entries on ${seg.hints.listener}`, readDownstream));
  }
  return out;
}
