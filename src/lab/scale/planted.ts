/**
 * Ground truth of the scale fleet: every problem the fleet planted, as the audit should name it.
 * `code` is an audit finding code (src/analyze/audit/codes.ts) and `object` the exact object
 * string of that finding, so a benchmark can compare both sets for equality.
 */
export interface PlantedProblem {
  code: string;
  object: string;
  /** Human note: which fleet variant planted it. */
  why: string;
}
