import { writeFileAtomic } from '../io/atomic-write.js';
import type { EvidenceBundle } from './types.js';
import { scrubSecrets, type SecretHit } from './secrets.js';
import { scrubFreeText } from './secret-scanner.js';
import { validateBundle } from './validate.js';

export interface SavedBundle {
  bundle: EvidenceBundle;
  /** Secrets that were replaced by `[redacted]` before writing (also listed in run.notes). */
  redacted: SecretHit[];
}

/**
 * Serialise a bundle for writing (src/bundle/secrets.ts: allowlisted config dumps, our rules, then
 * secretlint over the free text). Secrets are SCRUBBED, not refused: a private key or token
 * that slipped into a capture is replaced by `[redacted]` and a note naming its JSON pointer is
 * added to run.notes, so a run's evidence is never lost to one echoed Authorization header.
 * The result is validated (the same checks as the loader) and an invalid bundle throws.
 */
export async function serializeBundle(bundle: EvidenceBundle): Promise<{ text: string } & SavedBundle> {
  const first = scrubSecrets(bundle);
  const second = await scrubFreeText(first.value);
  const value = second.value;
  const redacted = [...first.redacted, ...second.redacted];
  const out: EvidenceBundle = redacted.length === 0 ? value : {
    ...value,
    run: {
      ...value.run,
      notes: [...value.run.notes, ...redacted.map((s) => `redacted ${s.what} at ${s.pointer} before saving`)],
    },
  };
  const check = validateBundle(out);
  if (!check.valid) throw new Error(`refusing to save an invalid evidence bundle: it ${check.problem}`);
  return { text: `${JSON.stringify(out, null, 2)}\n`, bundle: out, redacted };
}

/** Write a bundle atomically (temp file + rename), scrubbed and validated first. */
export async function saveBundle(file: string, bundle: EvidenceBundle): Promise<SavedBundle> {
  const { text, ...saved } = await serializeBundle(bundle);
  await writeFileAtomic(file, text);
  return saved;
}
