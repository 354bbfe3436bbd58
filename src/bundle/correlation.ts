import type { AppEcho, HopRequestId, RequestRecord } from './types.js';

/**
 * How a log line or an app's answer is tied to one of this run's requests.
 *
 * The probe sends its id twice: as x-mesh-verify-id (ours; no proxy touches it) and as
 * x-request-id. An edge Envoy replaces the x-request-id of every external request (Istio's gateway:
 * use_remote_address true, no preserve_external_request_id, and since Envoy 1.33 no address is
 * internal by default; envoy source/common/http/conn_manager_utility.cc, mutateRequestHeaders), so
 * the probe's x-request-id alone never ties anything. What does:
 *  - x-mesh-verify-id, logged as `mesh_verify_id` and echoed by the apps;
 *  - the x-request-id an app saw while answering one of our requests (echoed with our header),
 *    which is what the proxies of the path logged as `request_id` for that request.
 */

/** The x-mesh-verify-id an app saw (its `meshVerifyId`, or the echoed header of an older app). */
export function echoedMeshVerifyId(echo: AppEcho): string | null {
  if (typeof echo.meshVerifyId === 'string') return echo.meshVerifyId;
  const header = Object.entries(echo.headers).find(([k]) => k.toLowerCase() === 'x-mesh-verify-id')?.[1];
  return header ?? null;
}

/**
 * Is this answer one to request `id`? By our header when the app saw it; an answer without it (a
 * bundle recorded before the header existed) counts only when the app saw our x-request-id itself.
 */
export function echoBelongsTo(echo: AppEcho, id: string): boolean {
  const ours = echoedMeshVerifyId(echo);
  return ours !== null ? ours === id : echo.requestId === id;
}

/** The answers (bff's and, nested, svc's) of one request that belong to it. */
export function echoesOfRequest(r: RequestRecord): AppEcho[] {
  const out: AppEcho[] = [];
  for (let e: AppEcho | null | undefined = r.response; e; e = e.upstream?.body) {
    if (echoBelongsTo(e, r.id)) out.push(e);
  }
  return out;
}

/** The x-request-id each app saw while answering request `r`. */
export function echoHops(r: RequestRecord): HopRequestId[] {
  return echoesOfRequest(r).map((e) => ({ at: e.service, source: 'app_echo', requestId: e.requestId }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The form of an x-request-id used for matching. Envoy's UUID request-id extension packs the trace
 * decision into the UUID's version nibble (character 14: '4' no trace, '9' sampled, 'a' forced,
 * 'b' client; envoy source/extensions/request_id/uuid/config.cc), and each proxy may rewrite it,
 * so two hops can log one UUID with different characters there.
 */
export function requestIdKey(id: string): string {
  return UUID.test(id) ? `${id.slice(0, 14)}*${id.slice(15)}`.toLowerCase() : id;
}

export interface RunCorrelation {
  /** This run's ids (RequestRecord.id). */
  ids: Set<string>;
  /** requestIdKey(x-request-id an app saw for one of our requests) -> RequestRecord.id. */
  seenRequestIds: Map<string, string>;
}

export function runCorrelation(requests: readonly RequestRecord[]): RunCorrelation {
  const ids = new Set(requests.map((r) => r.id));
  const seenRequestIds = new Map<string, string>();
  for (const r of requests) {
    for (const e of echoesOfRequest(r)) if (e.requestId) seenRequestIds.set(requestIdKey(e.requestId), r.id);
  }
  return { ids, seenRequestIds };
}

/** The run's request a log line (its mesh_verify_id and request_id) belongs to, or null. */
export function runRequestOf(c: RunCorrelation, line: { meshVerifyId: string | null; requestId: string | null }): string | null {
  if (line.meshVerifyId !== null) return c.ids.has(line.meshVerifyId) ? line.meshVerifyId : null;
  return line.requestId === null ? null : c.seenRequestIds.get(requestIdKey(line.requestId)) ?? null;
}

/** Every value a log line of this run may carry: our ids and the x-request-ids the apps saw. */
export function correlationIds(requests: readonly RequestRecord[]): string[] {
  const c = runCorrelation(requests);
  return [...new Set([...c.ids, ...[...requests].flatMap((r) => echoesOfRequest(r).map((e) => e.requestId ?? '').filter(Boolean))])];
}
