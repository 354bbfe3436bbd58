import { describe, expect, it } from 'vitest';
import { Substitution, type PodValues } from '../../src/lab/scale/substitute.js';
import { loadRecordedTemplates } from '../../src/lab/scale/recorded.js';

/** The per-pod substitution over recorded answers: exact tokens, whole PEMs, versions by key. */
describe('fleet substitution of recorded values', () => {
  const t = loadRecordedTemplates().get('sidecar-8080-SS')!;
  const ctx = t.context;
  const pod: PodValues = {
    podName: 'app-04-abcde-fghij', namespace: 'team-07', app: 'app-04', serviceAccount: 'app-04', podIp: '10.244.1.9',
    istioVersion: '1.29.6', envoyVersion: '1.37.6', chainPem: ctx.rootPem, rootPem: ctx.rootPem, credentials: {},
  };
  const sub = new Substitution(ctx, pod);

  it('replaces whole tokens only: an address inside a longer one, a name inside a longer name stay', () => {
    const longer = `${ctx.podIp}7`;
    expect(sub.text(`${ctx.podIp}:15000 ${longer} ${ctx.podIp}_8080`)).toBe(`10.244.1.9:15000 ${longer} 10.244.1.9_8080`);
    expect(sub.text(`spiffe://cluster.local/ns/${ctx.namespace}/sa/${ctx.serviceAccount}`)).toBe('spiffe://cluster.local/ns/team-07/sa/app-04');
    expect(sub.text(`${ctx.podName}.${ctx.namespace} ${ctx.app}-canary`)).toBe(`app-04-abcde-fghij.team-07 ${ctx.app}-canary`);
  });

  it('changes the node as a proxy of another release reports it, and nothing of the structure', () => {
    const node = t.configDump.configs[0];
    const out = sub.json(node) as { bootstrap: { node: { id: string; metadata: Record<string, unknown>; user_agent_build_version: { version: Record<string, number> } } } };
    expect(out.bootstrap.node.id).toBe('sidecar~10.244.1.9~app-04-abcde-fghij.team-07~team-07.svc.cluster.local');
    expect(out.bootstrap.node.metadata.ISTIO_VERSION).toBe('1.29.6');
    expect(out.bootstrap.node.user_agent_build_version.version).toEqual({ major_number: 1, minor_number: 37, patch: 6 });
    const keys = (x: unknown): string[] => (x && typeof x === 'object' ? Object.entries(x).flatMap(([k, v]) => [k, ...keys(v)]) : []);
    expect(keys(out)).toEqual(keys(node));
  });

  it('swaps a recorded PEM for the pod\'s and describes the new certificate in /certs', () => {
    const dump = sub.json(t.configDump);
    expect(JSON.stringify(dump)).not.toContain(ctx.chainPem.split('\n')[1]);
    const certs = sub.json(t.certs) as { certificates: { cert_chain: { serial_number: string }[] }[] };
    const recorded = t.certs.certificates as { cert_chain: { serial_number: string }[] }[];
    expect(certs.certificates[0].cert_chain[0].serial_number).not.toBe(recorded[0].cert_chain[0].serial_number);
  });
});
