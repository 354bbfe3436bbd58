/** Kubernetes `Status` objects, as the API server returns them for errors and deletes. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
  code: number;
}

export class StatusError extends Error {
  constructor(readonly status: KubeStatus) {
    super(status.message);
  }
}

function failure(code: number, reason: string, message: string, details?: KubeStatus['details']): StatusError {
  return new StatusError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}

/** e.g. `pods "x" not found` (the resource is `plural` or `plural.group`). */
function qualified(plural: string, group: string): string {
  return group ? `${plural}.${group}` : plural;
}

export const Status = {
  notFound: (plural: string, group: string, name: string) =>
    failure(404, 'NotFound', `${qualified(plural, group)} "${name}" not found`, { name, group: group || undefined, kind: plural }),
  pathNotFound: () => failure(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (plural: string, group: string, name: string) =>
    failure(409, 'AlreadyExists', `${qualified(plural, group)} "${name}" already exists`, { name, group: group || undefined, kind: plural }),
  conflict: (plural: string, group: string, name: string, why: string) =>
    failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(plural, group)} "${name}": ${why}`, { name, group: group || undefined, kind: plural }),
  applyConflict: (message: string, causes: { field: string; message: string }[]) =>
    failure(409, 'Conflict', message, { causes: causes.map((c) => ({ reason: 'FieldManagerConflict', ...c })) }),
  forbidden: (user: string, verb: string, resource: string, group: string, namespace: string | undefined, name?: string) =>
    failure(403, 'Forbidden',
      `${qualified(resource.split('/')[0], group)}${name ? ` "${name}"` : ''} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}"${namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope'}`,
      { name, group: group || undefined, kind: resource.split('/')[0] }),
  unauthorized: () => failure(401, 'Unauthorized', 'Unauthorized'),
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  invalid: (kind: string, name: string, message: string) => failure(422, 'Invalid', `${kind} "${name}" is invalid: ${message}`, { name, kind }),
  methodNotAllowed: (message = 'the server does not allow this method on the requested resource') => failure(405, 'MethodNotAllowed', message),
  unsupportedMediaType: (type: string) => failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${type})`),
  gone: (rv: string) => failure(410, 'Expired', `too old resource version: ${rv}`),
  continueExpired: () => failure(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'),
};

export function successStatus(details?: KubeStatus['details']): KubeStatus & { status: 'Success' } {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code: 200 };
}
