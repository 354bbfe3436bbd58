import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluatePolicy, parsePolicyText, PolicyFormatError } from '../../src/analyze/tls-policy.js';
import { BUILTIN_POLICY_NAMES, builtinPolicy } from '../../src/analyze/tls-policies-builtin.js';
import { canonicalCipher, canonicalGroup, canonicalVersion } from '../../src/analyze/tls-names.js';
import { loadTlsPolicy } from '../../src/io/tls-policy-file.js';
import { InputError } from '../../src/core/errors.js';

const violations = (r: ReturnType<typeof evaluatePolicy>) => r.violations.map((v) => v.message);

describe('TLS names', () => {
  it('maps what Envoy and node:tls print to one canonical name', () => {
    expect(canonicalVersion('TLSv1_2')).toBe('TLSv1.2');
    expect(canonicalVersion('1.3')).toBe('TLSv1.3');
    expect(canonicalCipher('ECDHE-RSA-AES128-GCM-SHA256')).toBe('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    expect(canonicalCipher('TLS_AES_256_GCM_SHA384')).toBe('TLS_AES_256_GCM_SHA384');
    expect(canonicalGroup('P-256')).toBe('secp256r1');
    expect(canonicalGroup('prime256v1')).toBe('secp256r1');
    expect(canonicalGroup('X25519')).toBe('x25519');
    expect(canonicalGroup('x25519mlkem768')).toBe('X25519MLKEM768');
    expect(canonicalCipher('RC4-MD5')).toBeNull();
  });
});

describe('built-in TLS policies', () => {
  it('are valid policy documents with their sources', () => {
    expect(BUILTIN_POLICY_NAMES).toEqual(['modern', 'fips-140-3', 'pq-hybrid']);
    for (const name of BUILTIN_POLICY_NAMES) {
      const p = builtinPolicy(name);
      expect(p.name).toBe(name);
      expect(p.sources.length).toBeGreaterThan(0);
    }
    expect(builtinPolicy('fips-140-3').sources.join(' ')).toContain('NIST SP 800-52 Rev. 2');
  });

  it('modern: a hop limited to TLS 1.2 violates it, TLS 1.3 meets it, on edge and mesh alike', () => {
    const modern = builtinPolicy('modern');
    expect(violations(evaluatePolicy(modern, 'mesh', { version: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' })))
      .toEqual(['TLS version TLSv1.2 is not allowed by modern (mesh: TLSv1.3)']);
    expect(evaluatePolicy(modern, 'edge', { version: 'TLSv1.3', cipher: 'TLS_CHACHA20_POLY1305_SHA256' })).toEqual({ violations: [], unchecked: [] });
    // Nothing recorded about the version: not judged, said so.
    expect(evaluatePolicy(modern, 'edge', { cipher: 'TLS_AES_128_GCM_SHA256' })).toEqual({ violations: [], unchecked: ['version'] });
  });

  it('fips-140-3: ChaCha20, X25519, Ed25519 and short RSA keys violate it; AES-GCM on P-256 with ECDSA meets it', () => {
    const fips = builtinPolicy('fips-140-3');
    const bad = evaluatePolicy(fips, 'edge', {
      version: 'TLSv1.3', cipher: 'TLS_CHACHA20_POLY1305_SHA256', group: 'X25519', signatureAlgorithm: 'ed25519', keyAlgorithm: 'Ed25519',
    });
    expect(bad.violations.map((v) => [v.field, v.negotiated])).toEqual([
      ['cipher', 'TLS_CHACHA20_POLY1305_SHA256'], ['group', 'x25519'], ['signatureAlgorithm', 'ed25519'], ['keyAlgorithm', 'Ed25519'],
    ]);
    expect(bad.violations[0].allowed).toContain('TLS_AES_128_GCM_SHA256');
    expect(violations(evaluatePolicy(fips, 'mesh', { version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', keyAlgorithm: 'RSA', keyBits: 1024 })))
      .toEqual(['certificate key RSA-1024 is shorter than fips-140-3 allows (mesh: RSA >= 2048 bits)']);
    expect(evaluatePolicy(fips, 'mesh', {
      version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'P-256', signatureAlgorithm: 'ecdsa_secp256r1_sha256', keyAlgorithm: 'ECDSA-P256',
    })).toEqual({ violations: [], unchecked: [] });
    expect(violations(evaluatePolicy(fips, 'edge', { version: 'TLSv1.1' }))[0]).toBe('TLS version TLSv1.1 is not allowed by fips-140-3 (edge: TLSv1.2, TLSv1.3)');
  });

  it('pq-hybrid: a classical group violates it, an ML-KEM hybrid meets it, an unrecorded group is unchecked', () => {
    const pq = builtinPolicy('pq-hybrid');
    expect(violations(evaluatePolicy(pq, 'mesh', { version: 'TLSv1.3', group: 'X25519' })))
      .toEqual(['key-exchange group x25519 is not allowed by pq-hybrid (mesh: X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024)']);
    expect(evaluatePolicy(pq, 'edge', { version: 'TLSv1.3', group: 'X25519MLKEM768' }).violations).toEqual([]);
    expect(evaluatePolicy(pq, 'edge', { version: 'TLSv1.3' }).unchecked).toEqual(['group']);
  });
});

describe('TLS policy files', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'mv-policy-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads YAML with defaults that edge and mesh override field by field', () => {
    const p = parsePolicyText([
      'kind: mesh-verify/tls-policy',
      'name: internal',
      'default:',
      '  versions: [TLSv1.2, TLSv1.3]',
      '  groups: [P-256, X25519MLKEM768]',
      'edge:',
      '  versions: [TLSv1.3]',
      '',
    ].join('\n'));
    expect(p.rules.edge).toEqual({ versions: ['TLSv1.3'], groups: ['secp256r1', 'X25519MLKEM768'] });
    expect(p.rules.mesh).toEqual({ versions: ['TLSv1.2', 'TLSv1.3'], groups: ['secp256r1', 'X25519MLKEM768'] });
    expect(violations(evaluatePolicy(p, 'edge', { version: 'TLSv1.2' }))).toEqual(['TLS version TLSv1.2 is not allowed by internal (edge: TLSv1.3)']);
    expect(violations(evaluatePolicy(p, 'mesh', { version: 'TLSv1.2' }))).toEqual([]);
  });

  it('reads JSON, and names the place of a mistake', () => {
    expect(parsePolicyText('{"kind": "mesh-verify/tls-policy", "name": "j", "mesh": {"cipherSuites": ["TLS_AES_128_GCM_SHA256"]}}').rules.mesh)
      .toEqual({ cipherSuites: ['TLS_AES_128_GCM_SHA256'] });
    const bad = (text: string) => { try { parsePolicyText(text); return ''; } catch (e) { expect(e).toBeInstanceOf(PolicyFormatError); return (e as Error).message; } };
    expect(bad('kind: mesh-verify/tls-policy\nname: x\nedge:\n  cipherSuites: [TLS_AES_128_GCM_SHA256, RC4-MD5]\n'))
      .toBe('unknown cipherSuite "RC4-MD5" at /edge/cipherSuites/1');
    expect(bad('kind: mesh-verify/tls-policy\nname: x\nmesh:\n  version: [TLSv1.3]\n')).toBe('unknown rule "version" at /mesh/version');
    expect(bad('name: x\n')).toBe('kind is missing, expected "mesh-verify/tls-policy" at /kind');
    expect(bad('kind: mesh-verify/tls-policy\nname: x\ndefault:\n  versions: []\n')).toBe('expected a non-empty list at /default/versions');
    expect(bad('kind: mesh-verify/tls-policy\nname: [\n')).toMatch(/^is not YAML or JSON/);
  });

  it('loads a built-in name or a file; anything else is an InputError naming it (exit 2)', async () => {
    expect((await loadTlsPolicy('modern')).name).toBe('modern');
    const file = join(dir, 'p.yaml');
    await writeFile(file, 'kind: mesh-verify/tls-policy\nname: from-file\nmesh:\n  versions: [TLSv1.3]\n');
    expect((await loadTlsPolicy(file)).name).toBe('from-file');
    await expect(loadTlsPolicy('fips')).rejects.toThrow('fips: is neither a built-in TLS policy nor a file');
    await writeFile(file, 'kind: other\n');
    const err = await loadTlsPolicy(file).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`${file}: kind is "other", expected "mesh-verify/tls-policy" at /kind`);
    await expect(loadTlsPolicy(join(dir, 'missing.yaml'))).rejects.toThrow('TLS policy file not found');
  });
});
