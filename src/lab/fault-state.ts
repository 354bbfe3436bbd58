import { HEALTHY_MESH, type LabFault, type MeshState } from './types.js';

/** The MeshState a lab fault stands for (what istiod would have decided given that fault's objects). */
export function meshStateForFault(fault: LabFault | null): MeshState {
  const s: MeshState = { ...HEALTHY_MESH, inbound: { ...HEALTHY_MESH.inbound } };
  switch (fault) {
    case null:
      return s;
    case 'plaintext-gateway-bff':
      return { ...s, gatewayToBff: 'plaintext', inbound: { ...s.inbound, bff: 'PERMISSIVE' } };
    case 'permissive-svc':
      return { ...s, inbound: { ...s.inbound, svc: 'PERMISSIVE' }, plaintextCallerToSvc: true };
    case 'no-sidecar-svc':
      return { ...s, svcSidecar: false };
    case 'expired-cert':
      return { ...s, svcCert: 'expired' };
    case 'foreign-root':
      return { ...s, svcCert: 'foreign-root' };
    case 'nlb-terminates-tls':
      return { ...s, nlbTerminatesTls: true };
    case 'stats-filtered':
      return { ...s, includeSslStats: false };
  }
}
