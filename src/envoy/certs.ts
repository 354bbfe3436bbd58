import type { CertsDetail, CertsEntry } from './types.js';
import { asArray, asRecord, asString } from './json-access.js';

/**
 * Parse Envoy's /certs output: `{ "certificates": [ { ca_cert: [...], cert_chain: [...] } ] }`.
 * `days_until_expiration` is an int64 and may be printed as a string ("0").
 */
export function parseCerts(json: unknown): CertsEntry[] {
  const root = asRecord(json);
  return asArray(root?.certificates).map((entry) => {
    const e = asRecord(entry);
    return {
      caCert: asArray(e?.ca_cert).map(parseDetail),
      certChain: asArray(e?.cert_chain).map(parseDetail),
    };
  });
}

function parseDetail(raw: unknown): CertsDetail {
  const d = asRecord(raw) ?? {};
  const uriSans: string[] = [];
  const dnsSans: string[] = [];
  for (const san of asArray(d.subject_alt_names)) {
    const s = asRecord(san);
    if (typeof s?.uri === 'string') uriSans.push(s.uri);
    if (typeof s?.dns === 'string') dnsSans.push(s.dns);
  }
  const days = d.days_until_expiration;
  const daysNum = typeof days === 'number' ? days : typeof days === 'string' && days.trim() !== '' ? Number(days) : NaN;
  return {
    path: asString(d.path),
    serialNumber: asString(d.serial_number),
    uriSans,
    dnsSans,
    daysUntilExpiration: Number.isFinite(daysNum) ? daysNum : null,
    validFrom: asString(d.valid_from),
    expirationTime: asString(d.expiration_time),
  };
}
