import { randomBytes } from 'node:crypto';

/**
 * A run id: UTC time to the second plus 4 random hex digits, e.g. `20260101t120000-1a2b`. It is a
 * valid label value (the run label on every applied object) and part of every request id.
 */
export function newRunId(now: Date = new Date(), random: () => string = () => randomBytes(2).toString('hex')): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase();
  return `${stamp}-${random()}`;
}
