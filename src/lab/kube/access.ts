/**
 * Who may do what in the lab's API: everything, except what the test asked to deny
 * (`denyVerbs`: 'patch' for every resource, or 'create pods/exec' for one resource).
 */
export const LAB_USER = 'mesh-verify-lab';

export interface AccessPolicy {
  denyVerbs: string[];
  denyPortForward: boolean;
}

export function isDenied(policy: AccessPolicy, verb: string, resource: string): boolean {
  if (policy.denyPortForward && resource === 'pods/portforward') return true;
  return policy.denyVerbs.some((d) => {
    const [v, r] = d.trim().split(/\s+/, 2);
    return (v === verb || v === '*') && (r === undefined || r === resource || r === '*');
  });
}

const ALL_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

/** SelfSubjectAccessReview / SelfSubjectRulesReview answers. */
export function accessReview(policy: AccessPolicy, kind: string, body: Record<string, any>): Record<string, unknown> { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (kind === 'SelfSubjectAccessReview') {
    const ra = body.spec?.resourceAttributes;
    const resource = ra ? (ra.subresource ? `${ra.resource}/${ra.subresource}` : ra.resource ?? '') : '';
    const denied = ra ? isDenied(policy, ra.verb ?? '', resource) : false;
    return {
      ...body, apiVersion: 'authorization.k8s.io/v1', kind,
      metadata: { creationTimestamp: null },
      status: denied ? { allowed: false, denied: true, reason: `the lab denies ${ra.verb} on ${resource} (test option)` } : { allowed: true, reason: 'the lab allows everything else' },
    };
  }
  const allowed = ALL_VERBS.filter((v) => !policy.denyVerbs.includes(v));
  const extraDenied = policy.denyVerbs.filter((d) => d.includes(' '));
  return {
    ...body, apiVersion: 'authorization.k8s.io/v1', kind,
    metadata: { creationTimestamp: null },
    status: {
      resourceRules: [
        { verbs: allowed, apiGroups: ['*'], resources: ['*'] },
        { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
      ],
      nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['*'] }],
      incomplete: extraDenied.length > 0 || policy.denyPortForward,
    },
  };
}
