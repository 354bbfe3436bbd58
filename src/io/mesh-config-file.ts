import { parse as parseYaml } from 'yaml';
import { InputError } from '../core/errors.js';
import { readInputText } from './read-input.js';

/**
 * `path --lab --mesh-config FILE`: meshConfig fields for the lab's Istio install, in any of the
 * three shapes a user has them in: the meshConfig map itself (what ConfigMap istio-system/istio
 * holds under `mesh`), an IstioOperator (its spec.meshConfig), or that ConfigMap (its data.mesh).
 * Every problem is one InputError (exit 2) naming the file.
 */
export async function loadMeshConfigFile(file: string): Promise<Record<string, unknown>> {
  const text = await readInputText(file, 'mesh config file (--mesh-config)');
  const at = `--mesh-config ${file}`;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InputError(at, `is not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (!isMap(doc)) throw new InputError(at, 'holds no meshConfig map', 'write meshConfig fields, e.g. "tlsDefaults: {ecdhCurves: [P-256]}"');
  if (doc.kind === 'IstioOperator') {
    const spec = doc.spec as Record<string, unknown> | undefined;
    if (!isMap(spec?.meshConfig)) throw new InputError(at, 'is an IstioOperator without spec.meshConfig');
    return spec.meshConfig;
  }
  if (doc.kind === 'ConfigMap') {
    const mesh = (doc.data as Record<string, unknown> | undefined)?.mesh;
    const parsed = typeof mesh === 'string' ? parseYaml(mesh) as unknown : null;
    if (!isMap(parsed)) throw new InputError(at, 'is a ConfigMap without a data.mesh map');
    return parsed;
  }
  if (typeof doc.kind === 'string' || typeof doc.apiVersion === 'string') {
    throw new InputError(at, `is a ${String(doc.kind ?? doc.apiVersion)} object, not a mesh config`, 'give the meshConfig fields, an IstioOperator or ConfigMap istio-system/istio');
  }
  return doc;
}
