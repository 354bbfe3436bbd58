import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

/**
 * The lab's container runtime, the part a kubelet does before it starts a container: from a
 * pod's spec and the ConfigMaps and Secrets the API holds, the argv, the environment and the
 * volumes of one container. Kubernetes' rules, as the kubelet applies them:
 * - env: `envFrom` first, then `env`; `$(VAR)` expands variables defined before it (`$$` escapes);
 *   `valueFrom` reads the downward API (fieldRef), a ConfigMap or a Secret key. A missing
 *   ConfigMap, Secret or key that is not `optional` is the kubelet's CreateContainerConfigError.
 * - argv: `command` replaces the image's entrypoint, `args` its CMD; both expand `$(VAR)`.
 * - configMap/secret volumes: the kubelet's atomic-writer layout, `..<timestamp>/` holding the
 *   files, `..data -> ..<timestamp>` and one `key -> ..data/key` link per top-level entry; a
 *   missing ConfigMap or Secret that is not `optional` fails the volume's set-up and the pod does
 *   not start. A projected volume (the service-account token volume `kube-api-access-*` that the
 *   ServiceAccount admission adds) joins tokens (from the API's TokenRequest, as the kubelet gets
 *   them), ConfigMap and Secret keys and downward-API fields. emptyDir is an empty directory.
 * What is NOT a kubelet here: there is no image and no mount namespace. A mount is a directory of
 * the lab; an argv word under a mountPath is mapped to that directory; an image contributes only
 * its program, found by `programs` (the lab's own executable for the node image).
 */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ObjectSource {
  /** A ConfigMap's data (undefined: it does not exist). */
  configMap(namespace: string, name: string): Json | undefined;
  /** A Secret's data, base64 as the API holds it (undefined: it does not exist). */
  secret(namespace: string, name: string): Json | undefined;
  /** A token of the pod's service account for `audience` ('' = the API's), as the kubelet's TokenRequest got it. */
  serviceAccountToken?(audience: string): string | undefined;
}

/** The projected service-account tokens a pod's volumes ask for ('' = the API server's audience): what to request before containerLaunch. */
export function tokenRequests(pod: Json): { audience: string; expirationSeconds: number }[] {
  const out = new Map<string, number>();
  for (const v of pod.spec?.volumes ?? []) {
    for (const s of v.projected?.sources ?? []) {
      if (s.serviceAccountToken) out.set(s.serviceAccountToken.audience ?? '', s.serviceAccountToken.expirationSeconds ?? 3600);
    }
  }
  return [...out].map(([audience, expirationSeconds]) => ({ audience, expirationSeconds }));
}

export interface ContainerLaunch {
  argv: string[];
  env: Record<string, string>;
  /** mountPath -> the lab directory that plays it. */
  mounts: Record<string, string>;
}

/** The kubelet could not start the container; the message is the kubelet's event text. */
export class ContainerStartError extends Error {
  constructor(readonly reason: 'CreateContainerConfigError' | 'FailedMount' | 'ContainerNotFound' | 'ImageUnknown', message: string) { super(message); }
}

/** `$(VAR)` expansion as the kubelet does it (k8s.io/kubernetes third_party/forked/golang/expansion). */
export function expand(input: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i += 1) {
    if (input[i] === '$' && input[i + 1] === '$') { out += '$'; i += 1; continue; }
    if (input[i] === '$' && input[i + 1] === '(') {
      const end = input.indexOf(')', i + 2);
      if (end > 0) {
        const name = input.slice(i + 2, end);
        out += name in vars ? vars[name] : `$(${name})`;
        i = end;
        continue;
      }
    }
    out += input[i];
  }
  return out;
}

function fieldRef(pod: Json, path: string): string {
  const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
  if (m) return String(pod.metadata?.[m[1]!]?.[m[2]!] ?? '');
  // A whole map (downward-API volumes only): the kubelet's fieldpath.FormatMap, `key="value"` lines in key order.
  if (path === 'metadata.labels' || path === 'metadata.annotations') {
    const map: Record<string, string> = pod.metadata?.[path.slice('metadata.'.length)] ?? {};
    return Object.keys(map).sort().map((k) => `${k}=${JSON.stringify(map[k])}`).join('\n');
  }
  const fields: Record<string, unknown> = {
    'metadata.name': pod.metadata?.name, 'metadata.namespace': pod.metadata?.namespace, 'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': pod.spec?.nodeName, 'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.podIP': pod.status?.podIP, 'status.hostIP': pod.status?.hostIP,
  };
  if (!(path in fields)) throw new ContainerStartError('CreateContainerConfigError', `unsupported fieldPath ${path}`);
  return String(fields[path] ?? '');
}

function keyOf(src: ObjectSource, ns: string, ref: Json, kind: 'configMap' | 'secret'): string | undefined {
  const data = kind === 'configMap' ? src.configMap(ns, ref.name) : src.secret(ns, ref.name);
  const label = kind === 'configMap' ? 'configmap' : 'secret';
  if (data === undefined) {
    if (ref.optional) return undefined;
    throw new ContainerStartError('CreateContainerConfigError', `${label} "${ref.name}" not found`);
  }
  if (!(ref.key in data)) {
    if (ref.optional) return undefined;
    throw new ContainerStartError('CreateContainerConfigError', `couldn't find key ${ref.key} in ${kind === 'configMap' ? 'ConfigMap' : 'Secret'} ${ns}/${ref.name}`);
  }
  const v = String(data[ref.key]);
  return kind === 'secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
}

/** The container's environment from its spec (no image ENV: the lab has no images). */
export function containerEnv(pod: Json, container: Json, src: ObjectSource): Record<string, string> {
  const ns = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'configMap' : 'secret';
    const data = kind === 'configMap' ? src.configMap(ns, ref.name) : src.secret(ns, ref.name);
    if (data === undefined) {
      if (ref.optional) continue;
      throw new ContainerStartError('CreateContainerConfigError', `${kind === 'configMap' ? 'configmap' : 'secret'} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = kind === 'secret' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v);
  }
  for (const e of container.env ?? []) {
    const vf = e.valueFrom;
    let value: string | undefined;
    if (!vf) value = expand(String(e.value ?? ''), env);
    else if (vf.fieldRef) value = fieldRef(pod, vf.fieldRef.fieldPath);
    else if (vf.configMapKeyRef) value = keyOf(src, ns, vf.configMapKeyRef, 'configMap');
    else if (vf.secretKeyRef) value = keyOf(src, ns, vf.secretKeyRef, 'secret');
    else if (vf.resourceFieldRef) value = '0';
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

/** Write a configMap/secret volume in the kubelet's layout; `files` maps the relative path to content. */
function writeAtomic(dir: string, files: Record<string, string | Buffer>, mode: number): void {
  rmSync(dir, { recursive: true, force: true });
  const stamp = `..${new Date().toISOString().replace(/[-:T]/g, '_').replace('Z', '')}`;
  const tops = new Set<string>();
  for (const [rel, content] of Object.entries(files)) {
    const file = join(dir, stamp, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content, { mode });
    tops.add(rel.split('/')[0]!);
  }
  mkdirSync(join(dir, stamp), { recursive: true });
  symlinkSync(stamp, join(dir, '..data'));
  for (const top of tops) symlinkSync(join('..data', top), join(dir, top));
}

/** The files a configMap/secret volume projects: every key, or `items` (key -> path). */
function volumeFiles(data: Json, items: Json[] | undefined, decode: boolean, what: string): Record<string, string | Buffer> {
  const value = (k: string) => (decode ? Buffer.from(String(data[k]), 'base64') : String(data[k]));
  if (!items?.length) return Object.fromEntries(Object.keys(data).map((k) => [k, value(k)]));
  const files: Record<string, string | Buffer> = {};
  for (const it of items) {
    if (!(it.key in data)) {
      throw new ContainerStartError('FailedMount', `MountVolume.SetUp failed for volume: configmap references non-existent config key: ${it.key} (${what})`);
    }
    files[posix.normalize(it.path)] = value(it.key);
  }
  return files;
}

/** The files of a projected volume (the service-account token volume kube-api-access-* is one) or a downwardAPI volume. */
function projectedFiles(pod: Json, sources: Json[], src: ObjectSource, volume: string): Record<string, string | Buffer> {
  const ns = pod.metadata?.namespace ?? 'default';
  const files: Record<string, string | Buffer> = {};
  for (const s of sources) {
    if (s.serviceAccountToken) {
      const token = src.serviceAccountToken?.(s.serviceAccountToken.audience ?? '');
      if (token === undefined) throw new ContainerStartError('FailedMount', `MountVolume.SetUp failed for volume "${volume}" : failed to fetch token: no token for service account ${ns}/${pod.spec?.serviceAccountName ?? 'default'}`);
      files[s.serviceAccountToken.path] = token;
    } else if (s.configMap || s.secret) {
      const isCm = !!s.configMap;
      const ref = s.configMap ?? s.secret;
      const data = isCm ? src.configMap(ns, ref.name) : src.secret(ns, ref.name);
      if (data === undefined) {
        if (ref.optional) continue;
        throw new ContainerStartError('FailedMount', `MountVolume.SetUp failed for volume "${volume}" : ${isCm ? 'configmap' : 'secret'} "${ref.name}" not found`);
      }
      Object.assign(files, volumeFiles(data, ref.items, !isCm, `${ns}/${ref.name}`));
    } else if (s.downwardAPI) {
      for (const it of s.downwardAPI.items ?? []) files[it.path] = it.fieldRef ? fieldRef(pod, it.fieldRef.fieldPath) : '0';
    }
  }
  return files;
}

/** Set up the pod's volumes under `root`: name -> directory. */
export function setUpVolumes(pod: Json, src: ObjectSource, root: string): Record<string, string> {
  const ns = pod.metadata?.namespace ?? 'default';
  const dirs: Record<string, string> = {};
  for (const v of pod.spec?.volumes ?? []) {
    const dir = join(root, 'volumes', v.name);
    if (v.configMap || v.secret) {
      const isCm = !!v.configMap;
      const ref = v.configMap ?? v.secret;
      const name: string = isCm ? ref.name : ref.secretName;
      const data = isCm ? src.configMap(ns, name) : src.secret(ns, name);
      if (data === undefined && !ref.optional) {
        throw new ContainerStartError('FailedMount', `MountVolume.SetUp failed for volume "${v.name}" : ${isCm ? 'configmap' : 'secret'} "${name}" not found`);
      }
      writeAtomic(dir, volumeFiles(data ?? {}, ref.items, !isCm, `${ns}/${name}`), ref.defaultMode ?? 0o644);
    } else if (v.projected || v.downwardAPI) {
      const sources = v.projected?.sources ?? [{ downwardAPI: v.downwardAPI }];
      writeAtomic(dir, projectedFiles(pod, sources, src, v.name), (v.projected ?? v.downwardAPI).defaultMode ?? 0o644);
    } else if (v.emptyDir) {
      mkdirSync(dir, { recursive: true });
    } else {
      continue; // Not a volume the lab's runtime plays (projected tokens, hostPath...): mounting it fails below.
    }
    dirs[v.name] = dir;
  }
  return dirs;
}

/** A word of argv with its mount prefix replaced by the lab directory (no mount namespace here). */
function mapPath(word: string, mounts: Record<string, string>): string {
  for (const [path, dir] of Object.entries(mounts).sort((a, b) => b[0].length - a[0].length)) {
    if (word === path) return dir;
    if (word.startsWith(`${path.replace(/\/$/, '')}/`)) return join(dir, word.slice(path.replace(/\/$/, '').length + 1));
  }
  return word;
}

/**
 * What the kubelet would start for container `name` of `pod`. `programs` maps an image's program
 * name (argv[0]) to an executable of this machine; an image without one cannot run here.
 */
export function containerLaunch(pod: Json, name: string, src: ObjectSource, root: string, programs: Record<string, string>): ContainerLaunch {
  const container = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c: Json) => c.name === name);
  if (!container) throw new ContainerStartError('ContainerNotFound', `pod ${pod.metadata?.namespace}/${pod.metadata?.name} has no container ${name}`);
  const volumes = setUpVolumes(pod, src, join(root, name));
  const mounts: Record<string, string> = {};
  for (const m of container.volumeMounts ?? []) {
    const dir = volumes[m.name];
    if (!dir) throw new ContainerStartError('FailedMount', `volume "${m.name}" of container ${name} is not one the lab's runtime can set up`);
    mounts[m.mountPath] = m.subPath ? join(dir, m.subPath) : dir;
  }
  const env = containerEnv(pod, container, src);
  const words = [...(container.command ?? []), ...(container.args ?? [])].map((w: string) => mapPath(expand(String(w), env), mounts));
  if (words.length === 0) throw new ContainerStartError('ImageUnknown', `container ${name} has no command, and the lab has no image ${container.image} to take an entrypoint from`);
  const program = programs[words[0]!];
  if (!program) throw new ContainerStartError('ImageUnknown', `container ${name}: the lab has no program for ${words[0]} (image ${container.image})`);
  return { argv: [program, ...words.slice(1)], env, mounts };
}
