import { UsageError } from '../core/errors.js';
import { readFixture } from './fixture-files.js';

/** One Istio minor the nightly runs against, with its own pins. */
export interface IstioMatrixRow {
  /** 'x.y' */
  minor: string;
  /** Istio release 'x.y.z'. */
  istio: string;
  /** Published sha256 of istio-<istio>-<os>-<arch>.tar.gz, by 'linux-amd64' etc. Empty: not pinned. */
  istioSha256: Record<string, string>;
  /** kindest/node image with digest, from the release notes of the pinned kind. */
  kindNodeImage: string;
}

/** Pinned versions, kept in one place: fixtures/istio/versions.json. */
export interface PinnedVersions {
  /** Istio release installed by `istioctl install` (e.g. '1.30.3'). */
  istio: string;
  /** kind release (e.g. 'v0.31.0'). */
  kind: string;
  /** Published sha256 of kind-<os>-<arch>, by 'linux-amd64' etc. */
  kindSha256: Record<string, string>;
  /** kindest/node image with digest, matching the kind release (and the Istio row in use). */
  kindNodeImage: string;
  /** Official Node image the reference apps run on. */
  nodeImage: string;
  /** The Istio minors still supported, each with its pins; one of them is the default `istio`. */
  istioMatrix: IstioMatrixRow[];
}

/** Selects a row of istioMatrix ('1.31' or '1.31.1') instead of the default Istio pin. */
export const ISTIO_ROW_ENV = 'MESH_VERIFY_ISTIO';

const FILE = 'fixtures/istio/versions.json';
let cached: { raw: PinnedVersions } | null = null;

function isSums(x: unknown): x is Record<string, string> {
  return typeof x === 'object' && x !== null && Object.values(x).every((s) => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s));
}

function load(): PinnedVersions {
  if (cached) return cached.raw;
  const raw = JSON.parse(readFixture('istio', 'versions.json')) as Record<string, unknown>;
  for (const key of ['istio', 'kind', 'kindNodeImage', 'nodeImage'] as const) {
    if (typeof raw[key] !== 'string' || raw[key] === '') throw new Error(`${FILE}: "${key}" is missing`);
  }
  if (!isSums(raw.kindSha256)) throw new Error(`${FILE}: "kindSha256" must map os-arch to a sha256`);
  const rows = (raw.istioMatrix as { rows?: unknown } | undefined)?.rows;
  if (!Array.isArray(rows) || rows.length === 0) throw new Error(`${FILE}: "istioMatrix.rows" is missing`);
  for (const r of rows as Partial<IstioMatrixRow>[]) {
    if (typeof r.minor !== 'string' || typeof r.istio !== 'string' || !r.istio.startsWith(`${r.minor}.`) || typeof r.kindNodeImage !== 'string' || !isSums(r.istioSha256)) {
      throw new Error(`${FILE}: istioMatrix row ${JSON.stringify(r.minor ?? r.istio)} needs minor, istio x.y.z of that minor, istioSha256 and kindNodeImage`);
    }
  }
  const v: PinnedVersions = {
    istio: raw.istio as string,
    kind: raw.kind as string,
    kindSha256: raw.kindSha256,
    kindNodeImage: raw.kindNodeImage as string,
    nodeImage: raw.nodeImage as string,
    istioMatrix: rows as IstioMatrixRow[],
  };
  if (!v.istioMatrix.some((r) => r.istio === v.istio)) throw new Error(`${FILE}: the default istio ${v.istio} is not a row of istioMatrix`);
  cached = { raw: v };
  return v;
}

/** The matrix row for `wanted` ('x.y' or 'x.y.z'), or a usage error naming the known ones. */
export function istioRow(wanted: string, v: PinnedVersions = load()): IstioMatrixRow {
  const row = v.istioMatrix.find((r) => r.minor === wanted || r.istio === wanted);
  if (!row) {
    throw new UsageError(`${ISTIO_ROW_ENV}=${wanted} is not an Istio version pinned in ${FILE}`,
      `use one of: ${v.istioMatrix.map((r) => `${r.minor} (${r.istio})`).join(', ')}, or unset it`);
  }
  return row;
}

/**
 * The pinned versions; with MESH_VERIFY_ISTIO set (a nightly matrix job), that row's Istio and
 * kind node image replace the defaults.
 */
export function pinnedVersions(env: NodeJS.ProcessEnv = process.env): PinnedVersions {
  const v = load();
  const wanted = env[ISTIO_ROW_ENV]?.trim();
  if (!wanted) return v;
  const row = istioRow(wanted, v);
  return { ...v, istio: row.istio, kindNodeImage: row.kindNodeImage };
}
