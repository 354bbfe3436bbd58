/**
 * What a request asks for, parsed the way the API server's RequestInfoFactory does:
 * `/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}` and `/apis/{group}/{version}/...`.
 */
export interface RequestInfo {
  isResourceRequest: boolean;
  /** Non-resource path (discovery, /version, /openapi/...). */
  path: string;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function parseRequestInfo(method: string, url: URL): RequestInfo {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const nonResource: RequestInfo = { isResourceRequest: false, path, verb: method.toLowerCase(), apiGroup: '', apiVersion: '' };
  let rest: string[];
  let apiGroup = '';
  let apiVersion: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    apiVersion = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    apiGroup = parts[1];
    apiVersion = parts[2];
    rest = parts.slice(3);
  } else {
    return nonResource;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) rest = rest.slice(2);
  }
  const resource = rest[0];
  const name = rest[1];
  const subresource = rest[2];
  if (rest.length > 3) return nonResource;
  if (resource === 'namespaces') namespace = undefined;
  const watch = url.searchParams.get('watch');
  const isWatch = watch === '1' || watch === 'true';
  let verb: string;
  switch (method) {
    case 'GET': case 'HEAD': verb = name ? (isWatch ? 'watch' : 'get') : isWatch ? 'watch' : 'list'; break;
    case 'POST': verb = 'create'; break;
    case 'PUT': verb = 'update'; break;
    case 'PATCH': verb = 'patch'; break;
    case 'DELETE': verb = name ? 'delete' : 'deletecollection'; break;
    default: verb = method.toLowerCase();
  }
  return { isResourceRequest: true, path, verb, apiGroup, apiVersion, namespace, resource, name, subresource };
}
