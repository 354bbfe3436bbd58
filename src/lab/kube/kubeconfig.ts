import { stringify } from 'yaml';

export const LAB_CONTEXT = 'mesh-verify-lab';

/** A kubeconfig for the lab's API: CA data, bearer token, one context (default `mesh-verify-lab`). */
export function kubeconfigYaml(opts: { server: string; caPem: string; token: string; context?: string; namespace?: string }): string {
  const name = opts.context ?? LAB_CONTEXT;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name, cluster: { server: opts.server, 'certificate-authority-data': Buffer.from(opts.caPem).toString('base64') } }],
    users: [{ name, user: { token: opts.token } }],
    contexts: [{ name, context: { cluster: name, user: name, ...(opts.namespace ? { namespace: opts.namespace } : {}) } }],
    'current-context': name,
  });
}
