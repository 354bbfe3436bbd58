import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startLab, type StartedLab } from '../../src/lab/lab.js';
import { findKubeBinaries } from '../../src/lab/kube-binaries.js';
import type { PlantedProblem } from '../../src/lab/scale/index.js';
import { realEnvoyPath, requireEnvoyInCi } from '../helpers/real-envoy.js';

/**
 * Whether the lab's real components are here (kube binaries, Envoy). In CI (CI set) a missing
 * one fails the test file that calls this at its top; elsewhere the file's tests are skipped.
 */
export function fleetLabMissing(): boolean {
  const bins = (() => { try { return findKubeBinaries(); } catch (e) { return e as Error; } })();
  if (process.env.CI && bins instanceof Error) throw bins;
  const envoy = realEnvoyPath();
  requireEnvoyInCi(envoy);
  return bins instanceof Error || !envoy.path;
}

/** The read-only identity of fixtures/rbac/audit-readonly.yaml (its example ServiceAccount). */
export const AUDIT_USER = 'system:serviceaccount:default:mesh-verify-audit';

/** The scale fleet on the lab's real control plane (startLab({ proxies })), with a kubeconfig as admin and one as the audit's read-only role. */
export interface FleetApi {
  lab: StartedLab;
  planted: PlantedProblem[];
  /** cluster-admin. */
  kubeconfig: string;
  /** The ServiceAccount bound to fixtures/rbac/audit-readonly.yaml (AUDIT_USER): the apiserver's RBAC enforces it. */
  auditKubeconfig: string;
  stop(): Promise<void>;
}

export async function startFleetApi(count: number, seed = 1): Promise<FleetApi> {
  const lab = await startLab({ proxies: count, fleetSeed: seed });
  const dir = mkdtempSync(join(tmpdir(), 'mesh-verify-audit-'));
  try {
    for (const doc of parseAllDocuments(readFileSync(new URL('../../fixtures/rbac/audit-readonly.yaml', import.meta.url), 'utf8'))) {
      await lab.kube.apply(doc.toJS() as Record<string, unknown>, 'kubectl');
    }
    await lab.kube.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'mesh-verify-audit', namespace: 'default' } }, 'kubectl');
    const token = await serviceAccountToken(lab, 'default', 'mesh-verify-audit');
    const caData = JSON.parse(readFileSync(lab.kubeconfigPath, 'utf8')).clusters[0].cluster['certificate-authority-data'] as string;
    const auditKubeconfig = join(dir, 'audit.kubeconfig');
    writeFileSync(auditKubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'mesh-verify-lab',
      clusters: [{ name: 'mesh-verify-lab', cluster: { server: lab.apiServerUrl, 'certificate-authority-data': caData } }],
      users: [{ name: 'mesh-verify-audit', user: { token } }],
      contexts: [{ name: 'mesh-verify-lab', context: { cluster: 'mesh-verify-lab', user: 'mesh-verify-audit' } }],
    }), { mode: 0o600 });
    return {
      lab, planted: lab.fleet!.planted, kubeconfig: lab.kubeconfigPath, auditKubeconfig,
      stop: async () => { await lab.stop(); rmSync(dir, { recursive: true, force: true }); },
    };
  } catch (err) {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A token for the ServiceAccount (TokenRequest), once the controller-manager's token machinery accepts it. */
async function serviceAccountToken(lab: StartedLab, namespace: string, name: string): Promise<string> {
  const { request } = await import('node:https');
  const kc = JSON.parse(readFileSync(lab.kubeconfigPath, 'utf8'));
  const user = kc.users[0].user;
  const b = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
  for (let i = 0; ; i += 1) {
    const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${lab.apiServerUrl}/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
        method: 'POST', ca: b(kc.clusters[0].cluster['certificate-authority-data']), cert: b(user['client-certificate-data']), key: b(user['client-key-data']),
        headers: { 'content-type': 'application/json' },
      }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    if (r.status === 201) return (JSON.parse(r.text) as { status: { token: string } }).status.token;
    if (i > 50) throw new Error(`TokenRequest for ${namespace}/${name}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** `code | object` keys of error and warning findings (the planted ground truth's scope). */
export function findingKeys(findings: { severity: string; code: string; object: string }[]): string[] {
  return findings.filter((f) => f.severity !== 'info').map((f) => `${f.code} | ${f.object}`).sort();
}
