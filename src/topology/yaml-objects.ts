import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

/** Every non-empty document of a multi-document YAML text, as plain objects. */
export function parseYamlObjects(text: string, source: string): KubernetesObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0].message}`);
    const js = doc.toJS() as KubernetesObject | null;
    return js ? [js] : [];
  });
}
