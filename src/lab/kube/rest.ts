import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { LabControllers } from './controllers.js';
import { applyDefaults } from './controllers.js';
import { accessReview, type AccessPolicy } from './access.js';
import { parseBody, readBody, sendJson } from './http-io.js';
import type { KubeObject, ObjectStore } from './object-store.js';
import { jsonMergePatch, jsonPatch, strategicMergePatch } from './patch.js';
import type { RequestInfo } from './request-info.js';
import { groupVersion, type ResourceType } from './resources.js';
import { SelectorError, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { recordUpdate, serverSideApply } from './server-side-apply.js';
import { Status, successStatus } from './status.js';
import { tableFor, wantsTable } from './table.js';
import { serveWatch } from './watch.js';

export interface RestContext {
  store: ObjectStore;
  controllers: LabControllers;
  policy: AccessPolicy;
  /** Registers an open stream so that close() can end it. */
  track(end: () => void): () => void;
}

function matcher(url: URL): (o: KubeObject) => boolean {
  try {
    const ls = url.searchParams.get('labelSelector');
    const fs = url.searchParams.get('fieldSelector');
    const labels = ls ? parseLabelSelector(ls) : null;
    const fields = fs ? parseFieldSelector(fs) : null;
    return (o) => (!labels || matchesLabels(labels, o.metadata.labels)) && (!fields || fields(o));
  } catch (err) {
    if (err instanceof SelectorError) throw Status.badRequest(err.message);
    throw err;
  }
}

function defaultManager(req: IncomingMessage): string {
  const ua = req.headers['user-agent'] ?? 'unknown';
  return ua.split('/')[0] || 'unknown';
}

function withVersion(o: KubeObject, r: ResourceType, version: string): KubeObject {
  return { ...o, apiVersion: groupVersion(r.group, version) };
}

function checkNamespace(ctx: RestContext, r: ResourceType, ns: string | undefined): void {
  if (r.namespaced && ns !== undefined && !ctx.store.get('Namespace', undefined, ns)) throw Status.notFound('namespaces', '', ns);
}

/** Identity of the body must agree with the URL (as the API server checks). */
function checkIdentity(r: ResourceType, info: RequestInfo, body: KubeObject): KubeObject {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw Status.badRequest('the request body must be a JSON object');
  body.metadata ??= { name: '' };
  if (r.namespaced) {
    if (body.metadata.namespace && info.namespace && body.metadata.namespace !== info.namespace) {
      throw Status.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    body.metadata.namespace = info.namespace ?? body.metadata.namespace;
  }
  if (info.name && body.metadata.name && body.metadata.name !== info.name) {
    throw Status.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${info.name})`);
  }
  if (info.name) body.metadata.name = info.name;
  if (body.apiVersion && body.kind && body.kind !== r.kind) throw Status.badRequest(`the kind of the object (${body.kind}) does not match the resource ${r.plural}`);
  return body;
}

export async function handleResource(ctx: RestContext, r: ResourceType, info: RequestInfo, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { store } = ctx;
  const version = info.apiVersion;
  const q = url.searchParams;
  const table = wantsTable(req.headers.accept) ? { includeObject: q.get('includeObject') ?? undefined } : undefined;
  const dryRun = q.getAll('dryRun').includes('All');
  const manager = q.get('fieldManager') ?? defaultManager(req);
  const ns = r.namespaced ? info.namespace : undefined;
  const sub = info.subresource;

  if (r.virtual) {
    if (info.verb !== 'create') throw Status.methodNotAllowed();
    const body = parseBody(await readBody(req), req.headers['content-type']) as Record<string, unknown>;
    sendJson(res, 201, accessReview(ctx.policy, r.kind, body));
    return;
  }
  if (sub && sub !== 'status') throw Status.pathNotFound();

  switch (info.verb) {
    case 'get': {
      const o = store.get(r, ns, info.name!);
      if (!o) throw Status.notFound(r.plural, r.group, info.name!);
      const out = withVersion(o, r, version);
      sendJson(res, 200, table ? tableFor(r, [out], { resourceVersion: o.metadata.resourceVersion ?? '', includeObject: table.includeObject }) : out);
      return;
    }
    case 'list': {
      if (sub) throw Status.pathNotFound();
      const match = matcher(url);
      // Serialized before anything can write: the stored objects need no copy.
      let items = store.listShared(r, ns).filter(match).map((o) => withVersion(o, r, version));
      const limit = Number(q.get('limit') ?? 0);
      const rv = store.resourceVersion();
      // A continue token: "<offset>:<resourceVersion of the list's first page>"; it expires with compaction.
      const [offset, since] = q.get('continue') ? Buffer.from(q.get('continue')!, 'base64url').toString().split(':') : ['0', rv];
      if (Number(since) < store.compactedRevision()) throw Status.continueExpired();
      const start = Number(offset) || 0;
      let cont: string | undefined;
      if (limit > 0) {
        if (start + limit < items.length) cont = Buffer.from(`${start + limit}:${since}`).toString('base64url');
        items = items.slice(start, start + limit);
      }
      if (table) { sendJson(res, 200, tableFor(r, items, { resourceVersion: rv, includeObject: table.includeObject, continueToken: cont })); return; }
      sendJson(res, 200, { kind: r.listKind, apiVersion: groupVersion(r.group, version), metadata: { resourceVersion: rv, ...(cont ? { continue: cont } : {}) }, items });
      return;
    }
    case 'watch': {
      const match = matcher(url);
      const name = info.name;
      const timeout = Number(q.get('timeoutSeconds') ?? 0);
      let untrack = () => undefined as void;
      const end = serveWatch(store, res, {
        resource: r, version, namespace: ns,
        matches: (o) => (!name || o.metadata.name === name) && match(o),
        resourceVersion: q.get('resourceVersion') ?? undefined,
        sendInitialEvents: q.get('sendInitialEvents') === 'true',
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        timeoutSeconds: timeout > 0 ? timeout : undefined,
        table,
      }, () => untrack());
      untrack = ctx.track(end);
      return;
    }
    case 'create': {
      if (sub) throw Status.methodNotAllowed();
      checkNamespace(ctx, r, ns);
      const body = checkIdentity(r, info, parseBody(await readBody(req), req.headers['content-type']) as KubeObject);
      if (!body.metadata.name && typeof body.metadata.generateName === 'string') body.metadata.name = body.metadata.generateName + randomBytes(3).toString('hex').slice(0, 5);
      if (!body.metadata.name) throw Status.invalid(r.kind, '', 'metadata.name: Required value: name or generateName is required');
      if (store.get(r, ns, body.metadata.name)) throw Status.alreadyExists(r.plural, r.group, body.metadata.name);
      delete body.metadata.resourceVersion;
      const next = recordUpdate(undefined, applyDefaults(r, body), manager, groupVersion(r.group, version));
      const saved = dryRun ? next : store.put(next, r);
      ctx.controllers.reconcile();
      sendJson(res, 201, withVersion(dryRun ? saved : store.get(r, ns, saved.metadata.name) ?? saved, r, version));
      return;
    }
    case 'update': {
      const body = checkIdentity(r, info, parseBody(await readBody(req), req.headers['content-type']) as KubeObject);
      const prev = store.get(r, ns, info.name!);
      if (!prev) throw Status.notFound(r.plural, r.group, info.name!);
      if (body.metadata.resourceVersion && body.metadata.resourceVersion !== prev.metadata.resourceVersion) {
        throw Status.conflict(r.plural, r.group, info.name!, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      let next: KubeObject = sub === 'status' ? { ...prev, status: body.status } : { ...body, status: prev.status ?? body.status };
      next = recordUpdate(prev, applyDefaults(r, next), manager, groupVersion(r.group, version));
      const saved = dryRun ? next : store.put(next, r);
      ctx.controllers.reconcile();
      sendJson(res, 200, withVersion(dryRun ? saved : store.get(r, ns, info.name!) ?? saved, r, version));
      return;
    }
    case 'patch': {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
      const raw = await readBody(req);
      const prev = store.get(r, ns, info.name!);
      let next: KubeObject;
      let created = false;
      if (type === 'application/apply-patch+yaml' || type === 'application/apply-patch+cbor') {
        if (!q.get('fieldManager')) throw Status.invalid('PatchOptions.meta.k8s.io', '', 'fieldManager: Required value: is required for apply patch');
        const applied = checkIdentity(r, info, parseBody(raw, 'yaml') as KubeObject);
        if (!applied.apiVersion || !applied.kind) throw Status.badRequest('apply patches must set apiVersion and kind');
        if (!prev) { checkNamespace(ctx, r, ns); created = true; }
        const { status: _ignored, ...config } = applied;
        next = serverSideApply({ live: prev, applied: config as KubeObject, manager: q.get('fieldManager')!, force: q.get('force') === 'true', apiVersion: groupVersion(r.group, version) });
      } else {
        if (!prev) throw Status.notFound(r.plural, r.group, info.name!);
        const patch = parseBody(raw, type);
        let patched: unknown;
        if (type === 'application/merge-patch+json') patched = jsonMergePatch(prev, patch);
        else if (type === 'application/strategic-merge-patch+json') patched = strategicMergePatch(prev, patch);
        else if (type === 'application/json-patch+json') patched = jsonPatch(prev, patch);
        else throw Status.unsupportedMediaType(type);
        next = patched as KubeObject;
        if (next.metadata?.name !== prev.metadata.name) throw Status.badRequest('a patch cannot change metadata.name');
        if (sub === 'status') next = { ...prev, status: next.status };
        next = recordUpdate(prev, next, manager, groupVersion(r.group, version));
      }
      next = applyDefaults(r, next);
      const saved = dryRun ? next : store.put(next, r);
      ctx.controllers.reconcile();
      sendJson(res, created ? 201 : 200, withVersion(dryRun ? saved : store.get(r, ns, info.name!) ?? saved, r, version));
      return;
    }
    case 'delete': {
      const prev = store.get(r, ns, info.name!);
      if (!prev) throw Status.notFound(r.plural, r.group, info.name!);
      if (!dryRun) deleteCascading(ctx, r, prev);
      sendJson(res, 200, successStatus({ name: info.name, group: r.group || undefined, kind: r.plural, ...({ uid: prev.metadata.uid } as object) }));
      return;
    }
    case 'deletecollection': {
      const match = matcher(url);
      const gone = store.list(r, ns).filter(match);
      if (!dryRun) for (const o of gone) deleteCascading(ctx, r, o);
      sendJson(res, 200, { kind: r.listKind, apiVersion: groupVersion(r.group, version), metadata: { resourceVersion: store.resourceVersion() }, items: gone.map((o) => withVersion(o, r, version)) });
      return;
    }
    default:
      throw Status.methodNotAllowed();
  }
}

/** Delete an object; a namespace takes everything in it along. */
function deleteCascading(ctx: RestContext, r: ResourceType, o: KubeObject): void {
  ctx.store.delete(r, o.metadata.namespace, o.metadata.name);
  if (r.kind === 'Namespace') {
    for (const kind of ['Deployment', 'Service', 'Endpoints', 'ConfigMap', 'Secret', 'ServiceAccount', 'Pod', 'Event', 'ReplicaSet', 'Gateway', 'VirtualService', 'DestinationRule', 'PeerAuthentication']) {
      for (const x of ctx.store.list(kind, o.metadata.name)) ctx.store.delete(kind, x.metadata.namespace, x.metadata.name);
    }
  }
  ctx.controllers.reconcile();
}
