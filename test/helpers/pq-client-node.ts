import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentCache } from '../../src/lab/envoy/binary.js';

/** Does this process's OpenSSL have ML-KEM (3.5 and later: Node 24; Node 20 has 3.0)? */
export function opensslHasMlKem(version = process.versions.openssl): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major! > 3 || (major === 3 && minor! >= 5);
}

/**
 * The Node runtime with OpenSSL >= 3.5 that scripts/setup-components.sh pq-client-node installs
 * (fixtures/istio/versions.json pqClientNode): the external client of the test that meets
 * --tls-policy pq-hybrid. Missing, it throws: the test fails, it never skips.
 */
export function pqClientNode(): { path: string; version: string } {
  const versions = JSON.parse(readFileSync(new URL('../../fixtures/istio/versions.json', import.meta.url), 'utf8')) as { pqClientNode: { version: string } };
  const version = versions.pqClientNode.version;
  const path = join(componentCache(), 'node', version, 'bin', 'node');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`Node ${version} (OpenSSL 3.5) for the pq-hybrid client is not installed: run npm run setup (scripts/setup-components.sh pq-client-node)`);
  }
  return { path, version };
}
