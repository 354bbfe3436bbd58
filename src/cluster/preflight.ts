import { AuthorizationV1Api } from '@kubernetes/client-node';
import { EnvironmentError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import { GATEWAY_NAMESPACE, MESH_NAMESPACE } from '../topology/reference.js';
import { pinnedVersions } from '../topology/versions.js';
import { istioctlInstallHint, kindInstallHint } from './install-hints.js';
import { istioctlVersion } from './istioctl.js';
import { kindVersion } from './kind.js';
import { connectKube, makeApiClient, type KubeClients } from './kube-client.js';
import { apiErrorCode, apiErrorMessage } from './kube-client.js';
import { lastLine, runTool } from './process-runner.js';

/** What a user without Docker can run instead of the kind cluster. */
const NO_DOCKER_ALTERNATIVES = 'or run against the local lab without Docker with --lab (a simulation), or target an existing cluster with --context/--kubeconfig';

/** Docker must answer `docker info` (kind runs its node as a container). */
export async function checkDocker(): Promise<{ serverVersion: string | null }> {
  const r = await runTool('docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeoutMs: 20_000, what: 'Docker', installHint: `install Docker (kind needs it), ${NO_DOCKER_ALTERNATIVES}`,
  });
  if (r.code !== 0) {
    throw new EnvironmentError(`Docker is not running (docker info: ${lastLine(r)})`, `start Docker (Docker Desktop or systemctl start docker), ${NO_DOCKER_ALTERNATIVES}`);
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
  /**
   * Checks that share `oneOf` are alternatives, grouped by `subresource`: one group whose every
   * check is allowed is enough (e.g. port-forward, else the exec fallback).
   */
  oneOf?: string;
}

export function describeAccess(c: AccessCheck): string {
  const res = `${c.resource}${c.subresource ? `/${c.subresource}` : ''}${c.group ? `.${c.group}` : ''}`;
  return `${c.verb} ${res}${c.namespace ? ` in ${c.namespace}` : ''}`;
}

/**
 * The rights a connection to a pod's subresource needs (pods/portforward, pods/exec). The API
 * server takes the verb from the HTTP method: the WebSocket upgrade (a GET, what mesh-verify and
 * kubectl >= 1.31 use) is `get`, SPDY (a POST) is `create`
 * (k8s.io/apiserver pkg/endpoints/request/requestinfo.go). From Kubernetes 1.35 the WebSocket
 * upgrade also needs `create` (KEP-4006, kubernetes/kubernetes#134577, feature gate
 * AuthorizePodWebsocketUpgradeCreatePermission, beta and on by default). So both are checked.
 */
export function connectChecks(subresource: 'portforward' | 'exec', namespace: string, oneOf?: string): AccessCheck[] {
  return ['get', 'create'].map((verb) => ({ verb, resource: 'pods', subresource, namespace, ...(oneOf ? { oneOf } : {}) }));
}

/** The admin port of a namespace's proxies: port-forward, else `pilot-agent request` through exec. */
function adminChecks(namespace: string): AccessCheck[] {
  const oneOf = `admin port in ${namespace}`;
  return [...connectChecks('portforward', namespace, oneOf), ...connectChecks('exec', namespace, oneOf)];
}

/** What `mesh-verify path` needs: to deploy (unless --no-deploy), then to read pods, logs and admin ports. */
export function pathAccessChecks(opts: { deploy: boolean; cleanup?: boolean; gatewayNamespace?: string }): AccessCheck[] {
  const gatewayNs = opts.gatewayNamespace ?? GATEWAY_NAMESPACE;
  const namespaces = [...new Set([MESH_NAMESPACE, gatewayNs])];
  const checks: AccessCheck[] = [
    ...namespaces.map((namespace) => ({ verb: 'list', resource: 'pods', namespace })),
    ...namespaces.map((namespace) => ({ verb: 'get', resource: 'pods', subresource: 'log', namespace })),
    ...namespaces.flatMap(adminChecks),
    { verb: 'get', resource: 'services', namespace: gatewayNs },
  ];
  if (opts.deploy) {
    checks.push(
      { verb: 'create', resource: 'namespaces' },
      { verb: 'patch', resource: 'namespaces' },
      ...['deployments'].flatMap((r) => ['create', 'patch'].map((verb) => ({ verb, group: 'apps', resource: r, namespace: MESH_NAMESPACE }))),
      ...['services', 'configmaps', 'serviceaccounts'].map((r) => ({ verb: 'patch', resource: r, namespace: MESH_NAMESPACE })),
      { verb: 'create', resource: 'secrets', namespace: gatewayNs },
      { verb: 'patch', resource: 'secrets', namespace: gatewayNs },
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
 * What `mesh-verify audit` needs (fixtures/rbac/audit-readonly.yaml): to list what it reads, and the
 * admin port of every proxy (port-forward, else exec), in `namespaces` or cluster-wide when empty.
 */
export function auditAccessChecks(namespaces: readonly string[] = []): AccessCheck[] {
  const scopes: (string | undefined)[] = namespaces.length > 0 ? [...namespaces] : [undefined];
  const reads: Omit<AccessCheck, 'verb' | 'namespace'>[] = [
    { resource: 'pods' }, { resource: 'services' }, { resource: 'configmaps' }, { group: 'apps', resource: 'deployments' },
    { group: 'security.istio.io', resource: 'peerauthentications' }, { group: 'networking.istio.io', resource: 'destinationrules' },
  ];
  return [
    { verb: 'list', resource: 'namespaces' },
    ...scopes.flatMap((namespace) => [
      ...reads.map((r) => ({ verb: 'list', ...r, ...(namespace ? { namespace } : {}) })),
      ...(['portforward', 'exec'] as const).flatMap((sub) => ['get', 'create'].map((verb) => ({
        verb, resource: 'pods', subresource: sub, ...(namespace ? { namespace } : {}), oneOf: `admin port${namespace ? ` in ${namespace}` : ''}`,
      }))),
    ]),
  ];
}

/**
 * Which checks fail the preflight, and which only warn: a plain check that is denied fails; of
 * alternatives (`oneOf`), none fails while one of them is wholly allowed, and the denied rights of
 * the others are warnings.
 */
export function judgeAccess(results: readonly { check: AccessCheck; allowed: boolean }[]): { denied: AccessCheck[]; warnings: string[] } {
  const denied: AccessCheck[] = [];
  const warnings: string[] = [];
  const alternatives = new Map<string, Map<string, { check: AccessCheck; allowed: boolean }[]>>();
  for (const r of results) {
    if (!r.check.oneOf) { if (!r.allowed) denied.push(r.check); continue; }
    const options = alternatives.get(r.check.oneOf) ?? new Map();
    alternatives.set(r.check.oneOf, options);
    const key = r.check.subresource ?? r.check.resource;
    options.set(key, [...(options.get(key) ?? []), r]);
  }
  for (const [what, options] of alternatives) {
    const usable = [...options.entries()].find(([, rs]) => rs.every((r) => r.allowed));
    const missing = [...options.values()].flat().filter((r) => !r.allowed).map((r) => r.check);
    if (!usable) { denied.push(...missing); continue; }
    if (missing.length > 0) {
      warnings.push(`${what}: reached through pods/${usable[0]}; cannot ${missing.map(describeAccess).join(', ')}`);
    }
  }
  return { denied, warnings };
}

/**
 * Ask the API server (SelfSubjectAccessReview) whether the current user may do each thing; one
 * EnvironmentError listing what is denied, verb by verb. Returns a warning instead when the API
 * cannot answer, or when a fallback (exec for port-forward) has to be used.
 */
export async function checkRights(clients: KubeClients, checks: readonly AccessCheck[], opts: { fix?: string } = {}): Promise<{ warning: string | null }> {
  const authz = makeApiClient(clients.kc, AuthorizationV1Api);
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
    // A deadline or a size limit of the request: its own line, with its own fix.
    if (err instanceof EnvironmentError) throw err;
    const code = apiErrorCode(err);
    if (code === 404 || code === 405) return { warning: `rights not checked: the API server does not answer SelfSubjectAccessReview (${apiErrorMessage(err)})` };
    throw new EnvironmentError(`checking rights failed: ${apiErrorMessage(err)}`,
      'check that the API server is healthy (kubectl get --raw /readyz) and answers SelfSubjectAccessReview', { cause: err });
  }
  // Before 1.35 the WebSocket upgrade (all mesh-verify uses) is authorized as get alone.
  const minor = kubernetesMinor(clients.serverVersion);
  const notYet = minor !== null && minor < 35
    ? results.filter((r) => !r.allowed && r.check.verb === 'create' && (r.check.subresource === 'portforward' || r.check.subresource === 'exec'))
    : [];
  const judged = judgeAccess(results.map((r) => (notYet.includes(r) ? { ...r, allowed: true } : r)));
  const { denied } = judged;
  const warnings = [...judged.warnings];
  if (notYet.length > 0) {
    warnings.push(`Kubernetes 1.${minor} lets this context connect with get alone, but 1.35 and later also need ${notYet.map((r) => describeAccess(r.check)).join(', ')}`);
  }
  if (denied.length > 0) {
    const connectOnly = denied.every((c) => c.subresource === 'portforward' || c.subresource === 'exec');
    throw new EnvironmentError(`not enough rights on context ${clients.context}: cannot ${denied.map(describeAccess).join(', ')}`,
      connectOnly
        ? 'grant both get and create on pods/portforward (or pods/exec): the WebSocket connection is authorized as get, and from Kubernetes 1.35 also as create'
        : opts.fix ?? 'use a context with these rights (e.g. cluster-admin on a test cluster), or --no-deploy to only verify');
  }
  return { warning: warnings.length > 0 ? warnings.join('; ') : null };
}

/** The minor of a gitVersion such as `v1.33.1` or `v1.35.0-eks-1`, or null. */
export function kubernetesMinor(gitVersion: string | null | undefined): number | null {
  const m = /^v?1\.(\d+)\./.exec(gitVersion ?? '');
  return m ? Number(m[1]) : null;
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
    // The error itself is printed once, by the CLI's error funnel (also with -q).
    step?.fail('preflight checks failed');
    throw err;
  }
}
