import { createHash } from 'node:crypto';
import { RESOURCE_TYPES } from './resources.js';
import { LAB_KUBE_VERSION } from './discovery.js';

/**
 * A minimal OpenAPI v3 surface: kubectl reads it to learn that the server validates fields
 * itself (the `fieldValidation` query parameter on PATCH/POST/PUT, per group-version-kind), so
 * that `kubectl apply` needs no client-side schema. No schemas are served.
 */
function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function gvList(): { group: string; version: string }[] {
  const out: { group: string; version: string }[] = [];
  for (const r of RESOURCE_TYPES) {
    for (const version of r.versions) if (!out.some((x) => x.group === r.group && x.version === version)) out.push({ group: r.group, version });
  }
  return out;
}

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

export function openApiDocument(group: string, version: string): Record<string, unknown> | undefined {
  const types = RESOURCE_TYPES.filter((r) => r.group === group && r.versions.includes(version));
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const r of types) {
    const gvk = { group, version, kind: r.kind };
    const op = (action: string, params: string[]) => ({
      operationId: `${action}${r.kind}`, 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk,
      parameters: params.map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } })),
      responses: { '200': { description: 'OK' } },
    });
    const base = `/${gvPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
    paths[base] = { post: op('post', QUERY_PARAMS.filter((p) => p !== 'force')), get: op('list', ['labelSelector', 'fieldSelector', 'watch']) };
    if (!r.virtual) paths[`${base}/{name}`] = { get: op('get', ['pretty']), put: op('put', QUERY_PARAMS.filter((p) => p !== 'force')), patch: op('patch', QUERY_PARAMS), delete: op('delete', ['dryRun']) };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes (mesh-verify lab)', version: LAB_KUBE_VERSION.gitVersion }, paths, components: { schemas: {} } };
}

export function openApiRoot(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const { group, version } of gvList()) {
    const hash = createHash('sha512').update(JSON.stringify(openApiDocument(group, version))).digest('hex').toUpperCase().slice(0, 128);
    paths[gvPath(group, version)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hash}` };
  }
  return { paths };
}

/** Resolve `/openapi/v3/...` to a document, or undefined (404). */
export function openApiV3(path: string): Record<string, unknown> | undefined {
  const rest = path.replace(/^\/openapi\/v3\/?/, '');
  if (rest === '') return openApiRoot();
  const parts = rest.split('/');
  if (parts[0] === 'api' && parts.length === 2) return openApiDocument('', parts[1]);
  if (parts[0] === 'apis' && parts.length === 3) return openApiDocument(parts[1], parts[2]);
  return undefined;
}
