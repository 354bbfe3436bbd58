import { UsageError } from '../core/errors.js';
import { parseHostPort } from '../cluster/entry.js';
import type { GatewayRef } from '../cluster/gateway.js';
import { LAB_FAULTS, isLabFault, type LabFault } from '../lab/types.js';
import { SCENARIO_NAMES, isScenarioName, type ScenarioName } from '../topology/scenarios.js';
import { PATH_REPORT_FORMATS, isPathReportFormat, type PathReportFormat } from '../report/path-report.js';
import { parseClientOffer, type ClientOffer } from '../probe/client-offer.js';

export type OutputFormat = PathReportFormat;
export type Expectation = 'proven' | 'contradicted';

/** `mesh-verify path` options after validation. */
export interface PathOptions {
  lab: boolean;
  fault: LabFault | null;
  scenario: ScenarioName | null;
  context: string | null;
  kubeconfig: string | null;
  requests: number;
  freshConnections: boolean;
  deploy: boolean;
  keep: boolean;
  expect: Expectation | null;
  output: OutputFormat;
  reportDir: string | null;
  bundle: string | null;
  /** --entry HOST:PORT: where the client connects, instead of the gateway Service's address. */
  entry: { address: string; port: number } | null;
  /** --gateway NS/NAME: the ingress gateway's Service (default: istio-system/istio-ingressgateway). */
  gateway: GatewayRef | null;
  /** --envoy PATH: the Envoy binary the lab runs (default: MESH_VERIFY_ENVOY, the cache, PATH). */
  envoy: string | null;
  /** --capture: record the lab's hops with a packet capture (the wire level). */
  capture: boolean;
  /** --capture-tool PATH: the capture program (default MESH_VERIFY_TCPDUMP, else tcpdump on PATH). */
  captureTool: string | null;
  /** --tls-groups / --tls-ciphers: what the external client offers (null fields: node:tls's defaults). */
  clientOffer: ClientOffer;
  /** --mesh-config FILE (with --lab): meshConfig fields the lab's Istio install starts with. */
  meshConfig: string | null;
  /** --apply FILE (with --lab): objects applied to the lab when it starts. */
  labApply: string | null;
}

/** Raw commander values (strings and booleans as the user typed them). */
export interface RawPathOptions {
  lab?: boolean;
  fault?: string;
  scenario?: string;
  context?: string;
  kubeconfig?: string;
  requests?: string;
  freshConnections?: boolean;
  deploy?: boolean;
  keep?: boolean;
  expect?: string;
  output?: string;
  reportDir?: string;
  bundle?: string;
  entry?: string;
  gateway?: string;
  envoy?: string;
  capture?: boolean;
  captureTool?: string;
  tlsGroups?: string;
  tlsCiphers?: string;
  meshConfig?: string;
  apply?: string;
}

/** Validate the flags of `path`; every problem is a UsageError (exit 2) naming the flag. */
export function parsePathOptions(raw: RawPathOptions): PathOptions {
  const lab = raw.lab === true;
  if (raw.fault !== undefined && !isLabFault(raw.fault)) {
    throw new UsageError(`unknown --fault "${raw.fault}"`, `use one of: ${LAB_FAULTS.join(', ')}`);
  }
  if (raw.envoy !== undefined && !lab) throw new UsageError('--envoy needs --lab (it is the Envoy binary the lab runs)', 'add --lab, or drop --envoy');
  if (raw.fault !== undefined && !lab) throw new UsageError('--fault needs --lab (faults are injected into the lab)', 'add --lab, or use --scenario NAME on a cluster');
  if (raw.scenario !== undefined && !isScenarioName(raw.scenario)) {
    throw new UsageError(`unknown --scenario "${raw.scenario}"`, `use one of: ${SCENARIO_NAMES.join(', ')}`);
  }
  if (lab && (raw.context !== undefined || raw.kubeconfig !== undefined)) {
    throw new UsageError('--lab cannot be combined with --context or --kubeconfig', 'drop --lab to target a cluster');
  }
  if (lab && raw.keep === true) {
    // The lab runs inside this process and stops with it: there is nothing --keep could leave.
    throw new UsageError('--keep cannot be combined with --lab (the lab runs inside this process and stops with it)',
      'start a lab that stays up with `mesh-verify lab up`, then run `mesh-verify path --kubeconfig <its kubeconfig> --keep`');
  }
  if (raw.fault !== undefined && raw.scenario !== undefined) {
    throw new UsageError('--fault and --scenario cannot be combined (both break the mesh)', 'pick one');
  }
  // The lab starts with the topology deployed and the fault injected; re-applying the reference
  // topology would repair the object-driven faults, so a fault run verifies what is there.
  const deploy = raw.deploy !== false && raw.fault === undefined;
  if (!deploy && raw.scenario !== undefined) {
    throw new UsageError('--scenario deploys a broken variant and cannot be combined with --no-deploy', 'drop --no-deploy');
  }
  if (raw.capture === true && !lab) {
    throw new UsageError('--capture needs --lab (it records the lab\'s loopback hops)', 'add --lab');
  }
  if (raw.captureTool !== undefined && raw.capture !== true) throw new UsageError('--capture-tool needs --capture', 'add --capture');
  if (raw.meshConfig !== undefined && !lab) {
    throw new UsageError('--mesh-config needs --lab (it is the mesh config the lab\'s Istio starts with)', 'on a cluster, set meshConfig in the IstioOperator (istioctl install) or ConfigMap istio-system/istio');
  }
  if (raw.apply !== undefined && !lab) {
    throw new UsageError('--apply needs --lab (it applies objects to the lab when it starts)', 'on a cluster, kubectl apply -f the file before the run');
  }
  const clientOffer = parseClientOffer(raw);
  const requests = raw.requests === undefined ? 10 : Number(raw.requests);
  if (!Number.isInteger(requests) || requests < 1 || requests > 1000) {
    throw new UsageError(`--requests must be a whole number from 1 to 1000 (got "${raw.requests}")`);
  }
  if (raw.expect !== undefined && raw.expect !== 'proven' && raw.expect !== 'contradicted') {
    throw new UsageError(`--expect must be proven or contradicted (got "${raw.expect}")`);
  }
  const output = raw.output ?? 'table';
  if (!isPathReportFormat(output)) {
    throw new UsageError(`unknown output format "${raw.output}"`, `use -o ${PATH_REPORT_FORMATS.join('|')}`);
  }
  return {
    lab,
    fault: (raw.fault as LabFault | undefined) ?? null,
    scenario: (raw.scenario as ScenarioName | undefined) ?? null,
    context: raw.context ?? null,
    kubeconfig: raw.kubeconfig ?? null,
    requests,
    freshConnections: raw.freshConnections === true,
    envoy: raw.envoy ?? null,
    deploy,
    keep: raw.keep === true,
    expect: (raw.expect as Expectation | undefined) ?? null,
    output,
    reportDir: raw.reportDir ?? null,
    bundle: raw.bundle ?? null,
    entry: raw.entry === undefined ? null : parseEntry(raw.entry, lab),
    gateway: raw.gateway === undefined ? null : parseGatewayRef(raw.gateway, lab),
    capture: raw.capture === true,
    captureTool: raw.captureTool ?? null,
    clientOffer,
    meshConfig: raw.meshConfig ?? null,
    labApply: raw.apply ?? null,
  };
}

/** A Kubernetes name (RFC 1123 label: namespaces and Services). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function parseGatewayRef(text: string, lab: boolean): GatewayRef {
  if (lab) throw new UsageError('--gateway cannot be combined with --lab (the lab has one gateway)', 'drop --gateway');
  const [namespace, name, extra] = text.trim().split('/');
  if (extra !== undefined || !namespace || !name || !DNS_LABEL.test(namespace) || !DNS_LABEL.test(name)) {
    throw new UsageError(`--gateway must be NAMESPACE/SERVICE, the ingress gateway's Service (got "${text}")`, 'e.g. --gateway istio-ingress/istio-ingress (Helm chart) or --gateway istio-system/istio-ingressgateway');
  }
  return { namespace, name };
}

function parseEntry(text: string, lab: boolean): { address: string; port: number } {
  if (lab) throw new UsageError('--entry cannot be combined with --lab (the lab knows its NLB)', 'drop --entry');
  const hp = parseHostPort(text);
  if (!hp) {
    throw new UsageError(`--entry must be HOST:PORT (got "${text}")`, 'e.g. --entry 127.0.0.1:9443 or --entry nlb.example.com:443');
  }
  return hp;
}
