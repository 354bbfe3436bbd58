import type { KubernetesObject } from '@kubernetes/client-node';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { DestinationRule, Gateway, VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1';

/**
 * Validate an object against the Kubernetes / Istio JSON schemas shipped by kubernetes-models.
 * @kubernetes-models/istio 2 has no networking.istio.io/v1 or security.istio.io/v1
 * PeerAuthentication classes: Istio serves v1 with the same schema as v1beta1, so those are
 * validated with the v1beta1 schema.
 */
type Model = { validate(): void };
const MODELS: Record<string, (o: any) => Model> = {
  'v1/Namespace': (o) => new Namespace(o),
  'v1/ServiceAccount': (o) => new ServiceAccount(o),
  'v1/Service': (o) => new Service(o),
  'v1/ConfigMap': (o) => new ConfigMap(o),
  'v1/Secret': (o) => new Secret(o),
  'apps/v1/Deployment': (o) => new Deployment(o),
  'networking.istio.io/v1/Gateway': (o) => new Gateway({ ...o, apiVersion: 'networking.istio.io/v1beta1' }),
  'networking.istio.io/v1/VirtualService': (o) => new VirtualService({ ...o, apiVersion: 'networking.istio.io/v1beta1' }),
  'networking.istio.io/v1/DestinationRule': (o) => new DestinationRule({ ...o, apiVersion: 'networking.istio.io/v1beta1' }),
  'security.istio.io/v1/PeerAuthentication': (o) => new PeerAuthentication({ ...o, apiVersion: 'security.istio.io/v1beta1' }),
  'install.istio.io/v1alpha1/IstioOperator': (o) => new IstioOperator(o),
};

/** Throws with the schema errors; throws too for a kind this helper has no schema for. */
export function validateAgainstSchema(obj: KubernetesObject): void {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const make = MODELS[key];
  if (!make) throw new Error(`no schema model for ${key}`);
  make(structuredClone(obj)).validate();
}
