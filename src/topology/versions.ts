import { readFixture } from './fixture-files.js';

/** Pinned versions, kept in one place: fixtures/istio/versions.json. */
export interface PinnedVersions {
  /** Istio release installed by `istioctl install` (e.g. '1.27.1'). */
  istio: string;
  /** kind release (e.g. 'v0.29.0'). */
  kind: string;
  /** kindest/node image with digest, matching the kind release. */
  kindNodeImage: string;
  /** Official Node image the reference apps run on. */
  nodeImage: string;
}

let cached: PinnedVersions | null = null;

export function pinnedVersions(): PinnedVersions {
  if (cached) return cached;
  const raw = JSON.parse(readFixture('istio', 'versions.json')) as Partial<PinnedVersions>;
  for (const key of ['istio', 'kind', 'kindNodeImage', 'nodeImage'] as const) {
    if (typeof raw[key] !== 'string' || raw[key] === '') throw new Error(`fixtures/istio/versions.json: "${key}" is missing`);
  }
  cached = raw as PinnedVersions;
  return cached;
}
