import type { KeyObject, X509Certificate } from 'node:crypto';
import { decodeX509 } from '../../envoy/certificate.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

interface Decoded {
  cert: X509Certificate;
  subject: string;
  issuer: string;
  ca: boolean;
  /** The public key, made once (node makes a new KeyObject per `publicKey` read). */
  key: KeyObject;
}

/**
 * `chainsTo(chainPem, rootPems)` of src/envoy/certificate.ts (same walk: issuer names, signatures,
 * issuers must be CAs; no dates) for many chains against one set of roots: roots are decoded
 * once, CA certificates once per distinct PEM block (a fleet shares a few intermediates), and
 * each (certificate, issuer) signature is verified once. Only leaves are decoded per chain.
 */
export function createChainTrust(rootPems: string[]): (chainPem: string) => boolean {
  const cas = new Map<string, Decoded | null>();
  const signatures = new Map<string, boolean>();
  const decode = (block: string): Decoded | null => {
    try {
      const cert = decodeX509(block);
      return { cert, subject: cert.subject, issuer: cert.issuer, ca: cert.ca, key: cert.publicKey };
    } catch {
      return null;
    }
  };
  /** CA blocks are remembered (few); a leaf block is decoded each time it is asked for. */
  const decodeKeeping = (block: string, keep: boolean): Decoded | null => {
    if (cas.has(block)) return cas.get(block)!;
    const d = decode(block);
    if (keep && (d === null || d.ca)) cas.set(block, d);
    return d;
  };
  const blocks = (pem: string) => pem.match(PEM_BLOCK) ?? [];
  const roots = rootPems.flatMap(blocks).map((b) => decodeKeeping(b, true)).filter((d): d is Decoded => d !== null);
  const signedBy = (cert: Decoded, certBlock: string, issuer: Decoded): boolean => {
    if (!issuer.ca || cert.issuer !== issuer.subject) return false;
    const memo = cert.ca ? `${certBlock}\n${issuer.cert.fingerprint256}` : null;
    const known = memo === null ? undefined : signatures.get(memo);
    if (known !== undefined) return known;
    let ok = false;
    try {
      ok = cert.cert.verify(issuer.key);
    } catch {
      ok = false;
    }
    if (memo !== null) signatures.set(memo, ok);
    return ok;
  };
  return (chainPem) => {
    const chainBlocks = blocks(chainPem);
    const chain: { d: Decoded; block: string }[] = [];
    chainBlocks.forEach((block, i) => {
      const d = decodeKeeping(block, i > 0);
      if (d) chain.push({ d, block });
    });
    if (chain.length === 0 || roots.length === 0) return false;
    // The pool of chainsTo without its roots: the chain's own certificates after the leaf.
    const pool = chain.slice(1);
    let current = chain[0];
    for (let depth = 0; depth <= pool.length + roots.length; depth++) {
      if (roots.some((root) => signedBy(current.d, current.block, root))) return true;
      const next = pool.find((c) => c !== current && signedBy(current.d, current.block, c.d));
      if (!next) return false;
      current = next;
    }
    return false;
  };
}
