import type { KubeObject } from './object-store.js';
import type { ResourceType } from './resources.js';

/** `kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io`: the server prints. */
export interface TableColumn { name: string; type: string; format: string; description: string; priority: number }

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Cell = string | number;

/** Kubernetes' duration.HumanDuration, as the AGE column shows it. */
export function humanAge(since: string | undefined, now = Date.now()): string {
  if (!since) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(s / 3600);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const col = (name: string, priority = 0, type = 'string', format = ''): TableColumn =>
  ({ name, type, format, description: `${name} of the object`, priority });

const joinOr = (xs: string[] | undefined) => (xs && xs.length > 0 ? xs.join(',') : '<none>');

interface Printer { columns: TableColumn[]; cells(o: Obj): Cell[] }

function servicePorts(o: Obj): string {
  const ports: Obj[] = o.spec?.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function selectorText(sel: Record<string, string> | undefined): string {
  const e = Object.entries(sel ?? {});
  return e.length === 0 ? '<none>' : e.map(([k, v]) => `${k}=${v}`).join(',');
}

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [col('Name', 0, 'string', 'name'), col('Ready'), col('Status'), col('Restarts', 0, 'string'), col('Age'), col('IP', 1), col('Node', 1), col('Nominated Node', 1), col('Readiness Gates', 1)],
    cells: (o) => {
      // As kubectl's printPod: restartable init containers (native sidecars) count as containers.
      const restartable = new Set((o.spec?.initContainers ?? []).filter((c: Obj) => c.restartPolicy === 'Always').map((c: Obj) => c.name));
      const cs: Obj[] = [...(o.status?.containerStatuses ?? []), ...(o.status?.initContainerStatuses ?? []).filter((c: Obj) => restartable.has(c.name))];
      const total = (o.spec?.containers ?? []).length + restartable.size;
      return [o.metadata.name, `${cs.filter((c) => c.ready).length}/${total}`, o.metadata.deletionTimestamp ? 'Terminating' : o.status?.phase ?? 'Pending',
        String(cs.reduce((n, c) => n + (c.restartCount ?? 0), 0)), humanAge(o.metadata.creationTimestamp), o.status?.podIP ?? '<none>', o.spec?.nodeName ?? '<none>', '<none>', '<none>'];
    },
  },
  Deployment: {
    columns: [col('Name', 0, 'string', 'name'), col('Ready'), col('Up-to-date', 0, 'integer'), col('Available', 0, 'integer'), col('Age'), col('Containers', 1), col('Images', 1), col('Selector', 1)],
    cells: (o) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0,
      humanAge(o.metadata.creationTimestamp), (o.spec?.template?.spec?.containers ?? []).map((c: Obj) => c.name).join(','),
      (o.spec?.template?.spec?.containers ?? []).map((c: Obj) => c.image).join(','), selectorText(o.spec?.selector?.matchLabels)],
  },
  ReplicaSet: {
    columns: [col('Name', 0, 'string', 'name'), col('Desired', 0, 'integer'), col('Current', 0, 'integer'), col('Ready', 0, 'integer'), col('Age')],
    cells: (o) => [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, humanAge(o.metadata.creationTimestamp)],
  },
  Service: {
    columns: [col('Name', 0, 'string', 'name'), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), col('Age'), col('Selector', 1)],
    cells: (o) => [o.metadata.name, o.spec?.type ?? 'ClusterIP', o.spec?.clusterIP ?? '<none>',
      joinOr((o.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip ?? i.hostname)), servicePorts(o), humanAge(o.metadata.creationTimestamp), selectorText(o.spec?.selector)],
  },
  Endpoints: {
    columns: [col('Name', 0, 'string', 'name'), col('Endpoints'), col('Age')],
    cells: (o) => [o.metadata.name, joinOr((o.subsets ?? []).flatMap((s: Obj) => (s.addresses ?? []).flatMap((a: Obj) => (s.ports ?? []).map((p: Obj) => `${a.ip}:${p.port}`)))), humanAge(o.metadata.creationTimestamp)],
  },
  Namespace: {
    columns: [col('Name', 0, 'string', 'name'), col('Status'), col('Age')],
    cells: (o) => [o.metadata.name, o.status?.phase ?? 'Active', humanAge(o.metadata.creationTimestamp)],
  },
  ConfigMap: {
    columns: [col('Name', 0, 'string', 'name'), col('Data', 0, 'integer'), col('Age')],
    cells: (o) => [o.metadata.name, Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, humanAge(o.metadata.creationTimestamp)],
  },
  Secret: {
    columns: [col('Name', 0, 'string', 'name'), col('Type'), col('Data', 0, 'integer'), col('Age')],
    cells: (o) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, humanAge(o.metadata.creationTimestamp)],
  },
  ServiceAccount: {
    columns: [col('Name', 0, 'string', 'name'), col('Secrets', 0, 'integer'), col('Age')],
    cells: (o) => [o.metadata.name, (o.secrets ?? []).length, humanAge(o.metadata.creationTimestamp)],
  },
  CustomResourceDefinition: {
    columns: [col('Name', 0, 'string', 'name'), col('Created At', 0, 'date')],
    cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
  },
  VirtualService: {
    columns: [col('Name', 0, 'string', 'name'), col('Gateways'), col('Hosts'), col('Age')],
    cells: (o) => [o.metadata.name, JSON.stringify(o.spec?.gateways ?? []), JSON.stringify(o.spec?.hosts ?? []), humanAge(o.metadata.creationTimestamp)],
  },
  DestinationRule: {
    columns: [col('Name', 0, 'string', 'name'), col('Host'), col('Age')],
    cells: (o) => [o.metadata.name, o.spec?.host ?? '', humanAge(o.metadata.creationTimestamp)],
  },
  PeerAuthentication: {
    columns: [col('Name', 0, 'string', 'name'), col('Mode'), col('Age')],
    cells: (o) => [o.metadata.name, o.spec?.mtls?.mode ?? '', humanAge(o.metadata.creationTimestamp)],
  },
};

const DEFAULT_PRINTER: Printer = {
  columns: [col('Name', 0, 'string', 'name'), col('Age')],
  cells: (o) => [o.metadata.name, humanAge(o.metadata.creationTimestamp)],
};

export function tableFor(resource: ResourceType, objects: KubeObject[], opts: { resourceVersion: string; includeObject?: string; continueToken?: string }): Record<string, unknown> {
  const p = PRINTERS[resource.kind] ?? DEFAULT_PRINTER;
  const include = opts.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: opts.resourceVersion, ...(opts.continueToken ? { continue: opts.continueToken } : {}) },
    columnDefinitions: p.columns,
    rows: objects.map((o) => ({
      cells: p.cells(o as Obj),
      object: include === 'None' ? undefined
        : include === 'Object' ? o
          : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

/** Does the Accept header ask for a Table? */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}
