import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../../core/errors.js';
import type { XdsFiles } from '../istio-shape/resources.js';

const TYPE = {
  lds: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  cds: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  rds: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  eds: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  sds: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;
export type XdsKind = keyof typeof TYPE;

const slug = (name: string): string => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * One proxy's dynamic resources as watched files (Envoy's path_config_source with a
 * watched_directory): each file is a DiscoveryResponse, replaced by rename, so that Envoy applies a
 * change as a new version of that resource, the way an xDS push arrives. Unchanged resources are
 * not rewritten (their version and last_updated stay, as with istiod).
 */
export class XdsDirectory {
  readonly files: XdsFiles;
  private readonly written = new Map<string, string>();
  private version = 0;
  /** Versions written that Envoy has not been seen to apply yet (see converged()). */
  private readonly pending = new Set<string>();

  constructor(private readonly root: string) {
    for (const k of Object.keys(TYPE)) mkdirSync(join(root, k), { recursive: true });
    this.files = {
      lds: join(root, 'lds', 'listeners.json'),
      cds: join(root, 'cds', 'clusters.json'),
      rds: (name) => join(root, 'rds', `${slug(name)}.json`),
      eds: (name) => join(root, 'eds', `${slug(name)}.json`),
      sds: (name) => join(root, 'sds', `${slug(name)}.json`),
    };
  }

  /** Write a resource file if its content changed; returns whether it did. */
  put(kind: XdsKind, path: string, resources: Record<string, unknown>[]): boolean {
    const body = JSON.stringify(resources);
    if (this.written.get(path) === body) return false;
    this.version += 1;
    const versionInfo = `${new Date().toISOString()}/${this.version}`;
    // Envoy's EndpointsConfigDump shows no version for file-delivered endpoints: the cluster's covers them.
    if (kind !== 'eds') this.pending.add(versionInfo);
    const text = JSON.stringify({ version_info: versionInfo, type_url: TYPE[kind], resources: resources.map((r) => ({ '@type': TYPE[kind], ...r })) }, null, 1);
    const tmp = join(this.root, `.${kind}-${this.version}.tmp`);
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, path);
    this.written.set(path, body);
    return true;
  }

  /**
   * Wait (bounded) until Envoy's /config_dump shows every version written so far: a config push
   * is complete when the proxy reports it, as istioctl proxy-status compares versions.
   */
  async converged(configDump: () => Promise<string>, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      const dump = await configDump().catch(() => '');
      for (const v of [...this.pending]) if (dump.includes(`"${v}"`)) this.pending.delete(v);
      if (this.pending.size === 0) return;
      if (Date.now() > deadline) throw new EnvironmentError(`a lab Envoy did not apply config version(s) ${[...this.pending].join(', ')} within ${timeoutMs} ms`, 'run with --debug to see the lab\'s log; the machine may be overloaded');
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
