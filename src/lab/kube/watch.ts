import type { ServerResponse } from 'node:http';
import type { KubeObject, ObjectStore, StoreEvent } from './object-store.js';
import { groupVersion, type ResourceType } from './resources.js';
import { Status } from './status.js';
import { tableFor } from './table.js';

export interface WatchRequest {
  resource: ResourceType;
  version: string;
  namespace?: string;
  matches(obj: KubeObject): boolean;
  resourceVersion?: string;
  sendInitialEvents: boolean;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  table?: { includeObject?: string };
}

/**
 * A watch stream: one JSON event per line (`{"type":"ADDED","object":{...}}`), chunked, until the
 * client goes away, timeoutSeconds passes or the server closes. Objects that stop matching the
 * selector are reported DELETED, objects that start matching ADDED, as the API server does.
 * Returns a function that ends the stream.
 */
export function serveWatch(store: ObjectStore, res: ServerResponse, w: WatchRequest, onEnd: () => void): () => void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  const visible = new Set<string>();
  const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  let first = true;
  const write = (type: string, obj: KubeObject | Record<string, unknown>) => {
    let object: unknown = obj;
    if (type !== 'ERROR' && type !== 'BOOKMARK') {
      const o = { ...(obj as KubeObject), apiVersion: groupVersion(w.resource.group, w.version) };
      object = w.table ? tableFor(w.resource, [o], { resourceVersion: o.metadata.resourceVersion ?? '', includeObject: w.table.includeObject }) : o;
      if (w.table && !first) (object as Record<string, unknown>).columnDefinitions = [];
      first = false;
    }
    res.write(JSON.stringify({ type, object }) + '\n');
  };
  const inScope = (o: KubeObject) => !w.resource.namespaced || w.namespace === undefined || o.metadata.namespace === w.namespace;
  const deliver = (ev: Pick<StoreEvent, 'type' | 'object'>) => {
    if (!inScope(ev.object)) return;
    const k = keyOf(ev.object);
    if (ev.type === 'DELETED') {
      if (visible.delete(k)) write('DELETED', ev.object);
      return;
    }
    const m = w.matches(ev.object);
    if (m && !visible.has(k)) { visible.add(k); write('ADDED', ev.object); } else if (m) write('MODIFIED', ev.object);
    else if (visible.delete(k)) write('DELETED', ev.object);
  };

  const rv = w.resourceVersion;
  const fromScratch = rv === undefined || rv === '' || rv === '0' || w.sendInitialEvents;
  if (fromScratch) {
    for (const o of store.list(w.resource, w.resource.namespaced ? w.namespace : undefined)) deliver({ type: 'ADDED', object: o });
    if (w.sendInitialEvents && w.allowBookmarks) {
      write('BOOKMARK', { kind: w.resource.kind, apiVersion: groupVersion(w.resource.group, w.version), metadata: { resourceVersion: store.resourceVersion(), annotations: { 'k8s.io/initial-events-end': 'true' } } });
    }
  } else {
    const since = Number(rv);
    const past = Number.isFinite(since) ? store.eventsSince(since, w.resource) : 'gone';
    if (past === 'gone') {
      write('ERROR', Status.gone(rv).status as unknown as Record<string, unknown>);
      res.end();
      onEnd();
      return () => undefined;
    }
    // Objects visible at `since` that match: seed the visibility set from the current state.
    for (const o of store.list(w.resource, w.namespace)) {
      if (Number(o.metadata.resourceVersion) <= since && w.matches(o)) visible.add(keyOf(o));
    }
    for (const ev of past) {
      if (ev.type !== 'ADDED' || !visible.has(keyOf(ev.object))) deliver(ev);
    }
  }

  let ended = false;
  const unsubscribe = store.onChange((ev) => { if (ev.resource === w.resource) deliver(ev); });
  const timer = w.timeoutSeconds ? setTimeout(() => end(), w.timeoutSeconds * 1000) : undefined;
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
    if (!res.writableEnded) res.end();
    onEnd();
  };
  res.on('close', end);
  return end;
}
