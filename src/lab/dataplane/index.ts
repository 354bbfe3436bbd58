/**
 * The lab's data plane (issue 3 §1-3): real TLS on loopback that answers like Envoy.
 * lab.ts wires it to the Kubernetes API double.
 */
export { startDataPlane, type DataPlane, type DataPlaneOptions } from './data-plane.js';
export { meshStateForFault } from './fault-state.js';
export { HOPS, type HopName } from './mesh-context.js';
export type { TapRecord } from './tap.js';
export { FORGED_XFCC } from './plaintext-caller.js';
