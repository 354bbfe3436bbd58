/** Istio versions as major.minor(.patch); tags like '1.22.3-distroless' or '1.23-dev' parse too. */
export interface IstioVersion {
  major: number;
  minor: number;
  patch: number | null;
  text: string;
}

export function parseIstioVersion(text: string | null | undefined): IstioVersion | null {
  if (!text) return null;
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? null : Number(m[3]), text: text.trim() };
}

/** Minor versions `a` is behind `b` (negative when ahead); cross-major compares as far apart. */
export function minorsBehind(a: IstioVersion, b: IstioVersion): number {
  if (a.major !== b.major) return (b.major - a.major) * 100;
  return b.minor - a.minor;
}

/**
 * Istio's skew policy: the control plane may be one minor version ahead of the data plane; the
 * data plane may never be ahead of the control plane.
 */
export const MAX_PROXY_MINORS_BEHIND = 1;

/** The version tag of an image reference ('docker.io/istio/pilot:1.22.3' -> '1.22.3'), or null. */
export function imageTag(image: string | null | undefined): string | null {
  if (!image) return null;
  const noDigest = image.split('@')[0];
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : null;
}
