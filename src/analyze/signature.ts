import type { PathReport, ReportSignature } from './types.js';

/**
 * Add what `analyze` learnt about the bundle's signature to its report (pure). A signature that
 * did not hold makes the run's evidence worthless as proof: the exit code becomes 1 whatever the
 * verdicts, and a note says why. A key whose certificate expired turns a proven run into exit 3
 * (nothing vouches for who signed it); an unchecked envelope only adds a note.
 */
export function withSignature(report: PathReport, sig: ReportSignature): PathReport {
  const head = {
    verified: 'Signature held',
    tampered: 'SIGNATURE DID NOT HOLD (treat this evidence as tampered)',
    'key-expired': 'Signature held, but the signing key has expired',
    'not-checked': 'Signed bundle, signature not checked (pass --key PUB)',
  }[sig.status];
  const note = `${head}: ${sig.message}`;
  let exitCode = report.exitCode;
  if (sig.status === 'tampered') exitCode = 1;
  else if (sig.status === 'key-expired' && exitCode === 0) exitCode = 3;
  return { ...report, exitCode, signature: sig, notes: [...(report.notes ?? []), note] };
}
