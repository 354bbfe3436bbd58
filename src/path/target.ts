import type { PathSpec, RunMetadata } from '../bundle/types.js';
import type { Progress } from '../core/progress.js';
import type { CollectDeps } from '../collect/types.js';
import type { IngressGateway } from '../topology/reference.js';
import type { ScenarioName } from '../topology/scenarios.js';
import type { HopTarget } from '../collect/wire/hop-facts.js';
import type { Deployment } from './deploy.js';

/**
 * Where a run happens, once reached: a kind cluster, any kubeconfig context, or the lab. The run
 * talks to all three through these methods, which (for all three) go through the Kubernetes API.
 */
export interface PreparedTarget {
  target: RunMetadata['target'];
  istio: RunMetadata['istio'];
  host: string;
  /** The ingress gateway, found from its Service: its namespace, pods, identity and listener. */
  gateway: IngressGateway;
  notes: string[];
  deploy(opts: { runId: string; scenario: ScenarioName | null; progress: Progress }): Promise<Deployment>;
  /** The gateway CA stored by an earlier deploy (for --no-deploy), or null. */
  deployedCa(): Promise<string | null>;
  entry(): Promise<PathSpec['entry']>;
  collectDeps(): CollectDeps;
  /** Where each segment's connections go, for a packet capture (the lab only; absent: not capturable). */
  wireHops?(): HopTarget[];
  /** Delete what this run created (unless keep): applied objects, a kind cluster; stop the lab. */
  release(opts: { keep: boolean; created: Deployment['created']; progress: Progress }): Promise<void>;
}
