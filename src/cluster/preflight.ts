import { AuthorizationV1Api } from '@kubernetes/client-node';
import { EnvironmentError } from '../cli/errors.js';
import type { Progress } from '../cli/progress.js';
import { GATEWAY_NAMESPACE, MESH_NAMESPACE } from '../topology/reference.js';
import { pinnedVersions } from '../topology/versions.js';
import { istioctlInstallHint, kindInstallHint } from './install-hints.js';
import { istioctlVersion } from './istioctl.js';
import { kindVersion } from './kind.js';
import { connectKube, type KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';
import { lastLine, runTool } from './process-runner.js';

/** Docker must answer `docker info` (kind runs its node as a container). */
export async function checkDocker(): Promise<{ serverVersion: string | null }> {
  const r = await runTool('docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeoutMs: 20_000, what: 'Docker', installHint: 'install Docker (kind needs it), or target an existing cluster with --context',
  });
  if (r.code !== 0) {
    throw new EnvironmentError(`Docker is not running (docker info: ${lastLine(r)})`, 'start Docker (Docker Desktop or systemctl start docker), or target an existing cluster with --context');
  }
  return { serverVersion: r.stdout.trim() || null };
}

/** kind must be on PATH; a version other than the pinned one is a warning, not an error. */
export async function checkKind(): Promise<{ version: string | null; warning: string | null }> {
  const pinned = pinnedVersions().kind;
  const version = await kindVersion();
  return { version, warning: version === pinned ? null : `kind ${version ?? '(unknown version)'} found, mesh-verify is tested with ${pinned} (${kindInstallHint(pinned)})` };
}

/** istioctl must be on PATH and (to install) of the wanted version. */
export async function checkIstioctl(wanted: string = pinnedVersions().istio, mustMatch = true): Promise<{ version: string | null; warning: string | null }> {
  const version = await istioctlVersion();
  if (version !== wanted && mustMatch) {
    throw new EnvironmentError(`istioctl ${version ?? '(unknown version)'} found, but Istio ${wanted} is to be installed`, istioctlInstallHint(wanted));
  }
  return { version, warning: version === wanted ? null : `istioctl ${version} differs from the pinned ${wanted}` };
}

/** One right to check with a SelfSubjectAccessReview. */
export interface AccessCheck {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

export function describeAccess(c: AccessCheck): string {
  const res = `${c.resource}${c.subresource ? `/${c.subresource}` : ''}${c.group ? `.${c.group}` : ''}`;
  return `${c.verb} ${res}${c.namespace ? ` in ${c.namespace}` : ''}`;
}

/** What `mesh-verify path` needs: to deploy (unless --no-deploy), then to read pods, logs and admin ports. */
export function pathAccessChecks(opts: { deploy: boolean; cleanup?: boolean }): AccessCheck[] {
  const checks: AccessCheck[] = [
    { verb: 'list', resource: 'pods', namespace: MESH_NAMESPACE },
    { verb: 'list', resource: 'pods', namespace: GATEWAY_NAMESPACE },
    { verb: 'get', resource: 'pods', subresource: 'log', namespace: MESH_NAMESPACE },
    { verb: 'get', resource: 'pods', subresource: 'log', namespace: GATEWAY_NAMESPACE },
    { verb: 'create', resource: 'pods', subresource: 'portforward', namespace: MESH_NAMESPACE },
    { verb: 'create', resource: 'pods', subresource: 'portforward', namespace: GATEWAY_NAMESPACE },
    { verb: 'get', resource: 'services', namespace: GATEWAY_NAMESPACE },
  ];
  if (opts.deploy) {
    checks.push(
      { verb: 'create', resource: 'namespaces' },
      { verb: 'patch', resource: 'namespaces' },
      ...['deployments'].flatMap((r) => ['create', 'patch'].map((verb) => ({ verb, group: 'apps', resource: r, namespace: MESH_NAMESPACE }))),
      ...['services', 'configmaps', 'serviceaccounts'].map((r) => ({ verb: 'patch', resource: r, namespace: MESH_NAMESPACE })),
      { verb: 'create', resource: 'secrets', namespace: GATEWAY_NAMESPACE },
      { verb: 'patch', resource: 'secrets', namespace: GATEWAY_NAMESPACE },
      ...['gateways', 'virtualservices', 'destinationrules'].map((r) => ({ verb: 'patch', group: 'networking.istio.io', resource: r, namespace: MESH_NAMESPACE })),
      { verb: 'patch', group: 'security.istio.io', resource: 'peerauthentications', namespace: MESH_NAMESPACE },
    );
  }
  if (opts.cleanup) {
    // Cleanup deletes what the deploy created: every kind it creates or patches.
    const deletes = checks.filter((c) => c.verb === 'patch').map((c) => ({ ...c, verb: 'delete' }));
    checks.push(...deletes);
  }
  return checks;
}

/**
 * Ask the API server (SelfSubjectAccessReview) whether the current user may do each thing; one
 * EnvironmentError listing what is denied. Returns a warning instead when the API cannot answer.
 */
export async function checkRights(clients: KubeClients, checks: readonly AccessCheck[]): Promise<{ warning: string | null }> {
  const authz = clients.kc.makeApiClient(AuthorizationV1Api);
  let results: { check: AccessCheck; allowed: boolean }[];
  try {
    results = await Promise.all(checks.map(async (check) => {
      const review = await authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { verb: check.verb, group: check.group ?? '', resource: check.resource, subresource: check.subresource, namespace: check.namespace } },
        },
      });
      return { check, allowed: review.status?.allowed === true };
    }));
  } catch (err) {
    const code = apiErrorCode(err);
    if (code === 404 || code === 405) return { warning: `rights not checked: the API server does not answer SelfSubjectAccessReview (${apiErrorMessage(err)})` };
    throw new EnvironmentError(`checking rights failed: ${apiErrorMessage(err)}`, undefined, { cause: err });
  }
  const denied = results.filter((r) => !r.allowed).map((r) => describeAccess(r.check));
  if (denied.length > 0) {
    throw new EnvironmentError(`not enough rights on context ${clients.context}: cannot ${denied.join(', ')}`,
      'use a context with these rights (e.g. cluster-admin on a test cluster), or --no-deploy to only verify');
  }
  return { warning: null };
}

export interface PreflightOptions {
  /** Checks for creating a kind cluster. */
  docker?: boolean;
  kind?: boolean;
  /** istioctl is needed (to install Istio at `istioVersion`). */
  istioctl?: boolean;
  istioVersion?: string;
  /** Connect to this cluster and check reachability (null: no cluster yet, e.g. before kind create). */
  kube?: { kubeconfig?: string; context?: string } | null;
  rights?: readonly AccessCheck[];
  progress?: Progress;
}

/**
 * Run the environment checks in order (Docker, kind, istioctl, kubeconfig and context, API,
 * rights). The first failure throws an EnvironmentError (exit 4) with one line and a fix.
 */
export async function runPreflight(opts: PreflightOptions): Promise<{ clients: KubeClients | null; warnings: string[] }> {
  const warnings: string[] = [];
  const step = opts.progress?.step('preflight checks');
  try {
    if (opts.docker) await checkDocker();
    if (opts.kind) { const k = await checkKind(); if (k.warning) warnings.push(k.warning); }
    if (opts.istioctl) await checkIstioctl(opts.istioVersion);
    let clients: KubeClients | null = null;
    if (opts.kube) {
      clients = await connectKube(opts.kube);
      if (opts.rights?.length) { const r = await checkRights(clients, opts.rights); if (r.warning) warnings.push(r.warning); }
    }
    step?.succeed(`preflight checks passed${clients ? ` (context ${clients.context}, ${clients.server})` : ''}`);
    for (const w of warnings) opts.progress?.warn(w);
    return { clients, warnings };
  } catch (err) {
    step?.fail(`preflight: ${(err as Error).message}`);
    throw err;
  }
}
