import { randomUUID } from 'node:crypto';
import { RESOURCE_TYPES, groupVersion, type ResourceType } from './resources.js';

/** A Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: ManagedFieldsEntry[];
  ownerReferences?: unknown[];
  [field: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  object: KubeObject;
  resourceVersion: number;
}

/** A kind name ('Deployment', 'PeerAuthentication') or a resource type. */
export type KindRef = string | ResourceType;

const HISTORY = 2000;

const resolved = new Map<string, ResourceType>();

function resolve(ref: KindRef): ResourceType {
  if (typeof ref !== 'string') return ref;
  let r = resolved.get(ref);
  if (r) return r;
  r = RESOURCE_TYPES.find((t) => t.kind === ref || t.plural === ref);
  if (!r) throw new Error(`unknown kind ${ref}`);
  resolved.set(ref, r);
  return r;
}

function key(r: ResourceType, namespace: string | undefined, name: string): string {
  return `${r.group}|${r.plural}|${r.namespaced ? namespace ?? '' : ''}|${name}`;
}

/** Fields that do not count as a spec change (generation stays). */
function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

function hasGeneration(r: ResourceType): boolean {
  return r.group !== '' && r.group !== 'authorization.k8s.io';
}

/**
 * The API double's etcd: objects per resource, one global resourceVersion counter, and a bounded
 * event history so that watches can resume from a resourceVersion (older ones get 410 Gone).
 * Everything handed out is a copy.
 */
export class ObjectStore {
  private readonly objects = new Map<string, { resource: ResourceType; object: KubeObject }>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(ev: StoreEvent) => void>();
  private rv = 1000;

  /** Current resourceVersion (of the whole store), as the API reports it in lists. */
  resourceVersion(): string {
    return String(this.rv);
  }

  private compactedRv = 0;

  /** As etcd compaction: list continue tokens issued before the current resourceVersion expire (410). */
  compact(): void {
    this.compactedRv = this.rv;
  }

  /** The resourceVersion of the last compaction (0 before any). */
  compactedRevision(): number {
    return this.compactedRv;
  }

  get(ref: KindRef, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = resolve(ref);
    const entry = this.objects.get(key(r, namespace, name));
    return entry ? structuredClone(entry.object) : undefined;
  }

  /** Whether the object exists (no copy made: for checks on hot paths). */
  has(ref: KindRef, namespace: string | undefined, name: string): boolean {
    return this.objects.has(key(resolve(ref), namespace, name));
  }

  /** Objects of a kind, in one namespace or all (undefined), sorted by namespace then name. */
  list(ref: KindRef, namespace?: string): KubeObject[] {
    return this.listShared(ref, namespace).map((o) => structuredClone(o) as KubeObject);
  }

  /**
   * As list(), without copying: the stored objects themselves, to read at once (e.g. serialize
   * an answer) and never to change or keep (a LIST of a thousand pods copies as long as it takes
   * to serialize).
   */
  listShared(ref: KindRef, namespace?: string): readonly Readonly<KubeObject>[] {
    const r = resolve(ref);
    const out: KubeObject[] = [];
    for (const { resource, object } of this.objects.values()) {
      if (resource !== r) continue;
      if (namespace !== undefined && r.namespaced && object.metadata.namespace !== namespace) continue;
      out.push(object);
    }
    return out.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  }

  /**
   * Create or replace an object. New objects get uid, creationTimestamp and generation 1; a
   * changed spec bumps the generation; every write gets a new resourceVersion. Returns the stored copy.
   */
  put(obj: KubeObject, ref?: KindRef): KubeObject {
    const r = ref ? resolve(ref) : resolve(obj.kind);
    const ns = r.namespaced ? obj.metadata.namespace ?? 'default' : undefined;
    const k = key(r, ns, obj.metadata.name);
    const prev = this.objects.get(k)?.object;
    const next = structuredClone(obj);
    next.apiVersion = groupVersion(r.group, r.versions[0]);
    next.kind = r.kind;
    next.metadata = { ...next.metadata };
    if (ns !== undefined) next.metadata.namespace = ns;
    else delete next.metadata.namespace;
    next.metadata.uid = prev?.metadata.uid ?? next.metadata.uid ?? randomUUID();
    next.metadata.creationTimestamp = prev?.metadata.creationTimestamp ?? next.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (hasGeneration(r)) {
      const gen = prev?.metadata.generation ?? 0;
      next.metadata.generation = !prev ? 1 : specOf(prev) !== specOf(next) ? gen + 1 : gen;
    }
    if (prev && JSON.stringify({ ...prev, metadata: { ...prev.metadata, resourceVersion: '' } }) === JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: '' } })) {
      return structuredClone(prev); // no-op write: no new resourceVersion, no event
    }
    this.rv += 1;
    next.metadata.resourceVersion = String(this.rv);
    this.objects.set(k, { resource: r, object: next });
    this.emit({ type: prev ? 'MODIFIED' : 'ADDED', resource: r, object: next, resourceVersion: this.rv });
    return structuredClone(next);
  }

  delete(ref: KindRef, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = resolve(ref);
    const k = key(r, namespace, name);
    const entry = this.objects.get(k);
    if (!entry) return undefined;
    this.objects.delete(k);
    this.rv += 1;
    const gone = structuredClone(entry.object);
    gone.metadata.resourceVersion = String(this.rv);
    this.emit({ type: 'DELETED', resource: r, object: gone, resourceVersion: this.rv });
    return structuredClone(gone);
  }

  /** Called after every change; returns the unsubscribe function. */
  onChange(listener: (ev: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Events after resourceVersion `since`, or 'gone' when the history no longer reaches back. */
  eventsSince(since: number, ref: KindRef): StoreEvent[] | 'gone' {
    const r = resolve(ref);
    const oldest = this.history[0]?.resourceVersion ?? this.rv + 1;
    if (since < oldest - 1 && this.history.length >= HISTORY) return 'gone';
    return this.history.filter((e) => e.resourceVersion > since && e.resource === r).map((e) => ({ ...e, object: structuredClone(e.object) }));
  }

  private emit(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length > HISTORY) this.history.shift();
    for (const l of [...this.listeners]) l({ ...ev, object: structuredClone(ev.object) });
  }
}
