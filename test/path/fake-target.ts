import { DEFAULT_GATEWAY } from '../../src/topology/reference.js';
import type { PathReport } from '../../src/analyze/types.js';
import type { EvidenceBundle } from '../../src/bundle/types.js';
import type { AdminGetter, CollectDeps } from '../../src/collect/types.js';
import type { PreparedTarget } from '../../src/path/target.js';
import type { Deployment } from '../../src/path/deploy.js';

export interface FakeTargetLog {
  deploys: { runId: string; scenario: string | null }[];
  releases: { keep: boolean; created: Deployment['created'] }[];
}

/**
 * A PreparedTarget over local servers: the probe goes to `port`, admin reads go to `admin` (in the
 * tests a real Envoy's admin API, test/helpers/istio-sidecar.ts), for every proxy of the path.
 */
export function fakeTarget(o: {
  port: number; caPem: string; host: string; admin: { getter(): AdminGetter }; seenIds: () => string[];
  deployFails?: Error; deployedCa?: string | null;
  /** The certificate the deploy stored (the gateway must serve it before the probe); default: not known. */
  serverCertPem?: string;
}): { target: PreparedTarget; log: FakeTargetLog } {
  const log: FakeTargetLog = { deploys: [], releases: [] };
  const deps: CollectDeps = {
    findPod: async (t) => ({ namespace: t.namespace, name: `${t.id}-1`, ip: '10.1.0.1', containers: ['istio-proxy'] }),
    openAdmin: async () => o.admin.getter(),
    readLog: async () => o.seenIds().map((id) => JSON.stringify({ request_id: id })).join('\n'),
  };
  const created = [{ apiVersion: 'v1', kind: 'Namespace', name: 'mesh-verify' }];
  const target: PreparedTarget = {
    target: { kind: 'fixture', simulated: true, context: null, server: null, description: 'local test servers' },
    istio: null,
    host: o.host,
    gateway: DEFAULT_GATEWAY,
    notes: ['fake target'],
    async deploy({ runId, scenario }) {
      log.deploys.push({ runId, scenario });
      if (o.deployFails) throw o.deployFails;
      return { caPem: o.caPem, serverCertPem: o.serverCertPem ?? null, credentialReused: false, applied: created, created };
    },
    deployedCa: async () => (o.deployedCa === undefined ? o.caPem : o.deployedCa),
    entry: async () => ({ address: '127.0.0.1', port: o.port, kind: 'custom' }),
    collectDeps: () => deps,
    async release({ keep, created: c }) { log.releases.push({ keep, created: c }); },
  };
  return { target, log };
}

/** A stand-in analyzer: contradicted when the client did not verify the chain, else proven. */
export function fakeAnalyze(bundle: EvidenceBundle): PathReport {
  const bad = !bundle.client?.authorized;
  return {
    schemaVersion: 1,
    runId: bundle.run.id,
    target: { kind: bundle.run.target.kind, simulated: bundle.run.target.simulated, description: bundle.run.target.description },
    overall: bad ? 'contradicted' : 'proven',
    segments: [],
    findings: [],
    counts: { proven: bad ? 0 : 7, contradicted: bad ? 1 : 0, inconclusive: 0 },
    exitCode: bad ? 1 : 0,
    generatedAt: new Date().toISOString(),
  };
}
