import { InputError } from '../core/errors.js';
import { readInputText } from './read-input.js';
import { parseYamlObjects } from '../topology/yaml-objects.js';

/**
 * `--apply FILE` (with the lab): Kubernetes/Istio objects to apply to the lab when it starts, as
 * `kubectl apply -f FILE` would on a cluster (an EnvoyFilter, a PeerAuthentication, ...). Every
 * problem is one InputError (exit 2) naming the flag and the file.
 */
export async function loadLabObjectsFile(file: string): Promise<Record<string, unknown>[]> {
  const at = `--apply ${file}`;
  const text = await readInputText(file, 'objects file (--apply)');
  let objects: Record<string, unknown>[];
  try {
    objects = parseYamlObjects(text, at) as unknown as Record<string, unknown>[];
  } catch (err) {
    throw new InputError(at, `is not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (objects.length === 0) throw new InputError(at, 'holds no object', 'give Kubernetes objects in YAML, e.g. fixtures/istio/envoyfilter-fips-mesh-groups.yaml');
  objects.forEach((o, i) => {
    const meta = o.metadata as Record<string, unknown> | undefined;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof meta?.name !== 'string') {
      throw new InputError(at, `document ${i + 1} is not a Kubernetes object (apiVersion, kind and metadata.name are needed)`);
    }
  });
  return objects;
}
