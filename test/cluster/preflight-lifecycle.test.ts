import { afterEach, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { plainProgress } from '../../src/core/progress.js';
import { setProcessRunner, spawnProcessRunner, lastLine } from '../../src/cluster/process-runner.js';
import { checkDocker, checkIstioctl, checkKind, runPreflight } from '../../src/cluster/preflight.js';
import { createKindCluster, deleteKindCluster, kindClusterExists, KIND_CONFIG_FILE } from '../../src/cluster/kind.js';
import { installIstio, ISTIO_OPERATOR_FILE, versionFromImage, istioFromPod } from '../../src/cluster/istioctl.js';
import { pinnedVersions } from '../../src/topology/versions.js';
import { fakeRunner } from './fake-runner.js';

const v = pinnedVersions();
let restore: (() => void) | null = null;
afterEach(() => { restore?.(); restore = null; });
function useFake(answers: Parameters<typeof fakeRunner>[0]) {
  const f = fakeRunner(answers);
  restore = setProcessRunner(f.runner);
  return f;
}
async function envError(p: Promise<unknown>): Promise<EnvironmentError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(EnvironmentError);
  expect((err as EnvironmentError).exitCode).toBe(ExitCode.ENVIRONMENT);
  expect((err as Error).message).not.toContain('\n');
  return err as EnvironmentError;
}

describe('preflight: one clear line each, exit 4', () => {
  it('Docker not installed', async () => {
    useFake({});
    const e = await envError(checkDocker());
    expect(e.message).toBe('Docker is not installed (docker not found on PATH)');
  });

  it('Docker not running: names docker info and its error', async () => {
    useFake({ 'docker info': { code: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' } });
    const e = await envError(checkDocker());
    expect(e.message).toBe('Docker is not running (docker info: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)');
    expect(e.fix).toMatch(/start Docker/);
    expect(e.fix).toContain('--lab');
  });

  it('Docker running', async () => {
    useFake({ 'docker info': { stdout: '27.3.1\n' } });
    expect(await checkDocker()).toEqual({ serverVersion: '27.3.1' });
  });

  it('kind missing: says how to install the pinned version', async () => {
    useFake({});
    const e = await envError(checkKind());
    expect(e.message).toBe('kind is not installed (kind not found on PATH)');
    expect(e.fix).toContain(`go install sigs.k8s.io/kind@${v.kind}`);
  });

  it('kind of another version is a warning, the pinned one is not', async () => {
    useFake({ 'kind version': { stdout: 'kind v0.20.0 go1.20.4 linux/amd64\n' } });
    expect((await checkKind()).warning).toContain(`tested with ${v.kind}`);
    restore!();
    useFake({ 'kind version': { stdout: `kind ${v.kind} go1.24.2 linux/amd64\n` } });
    expect(await checkKind()).toEqual({ version: v.kind, warning: null });
  });

  it('istioctl missing: says how to install the pinned version', async () => {
    useFake({});
    const e = await envError(checkIstioctl());
    expect(e.message).toBe('istioctl is not installed (istioctl not found on PATH)');
    expect(e.fix).toContain(`ISTIO_VERSION=${v.istio}`);
  });

  it('istioctl of another version cannot install the pinned Istio', async () => {
    useFake({ 'istioctl version': { stdout: 'client version: 1.20.3\n' } });
    const e = await envError(checkIstioctl());
    expect(e.message).toBe(`istioctl 1.20.3 found, but Istio ${v.istio} is to be installed`);
  });

  it('kubeconfig missing (through runPreflight, after the tool checks pass)', async () => {
    useFake({ 'docker info': { stdout: '27\n' }, 'kind version': { stdout: `kind ${v.kind}\n` }, 'istioctl version': { stdout: `client version: ${v.istio}\n` } });
    const lines: string[] = [];
    const e = await envError(runPreflight({ docker: true, kind: true, istioctl: true, kube: { kubeconfig: '/nonexistent/kubeconfig' }, progress: plainProgress((l) => lines.push(l)) }));
    expect(e.message).toBe('kubeconfig /nonexistent/kubeconfig not found');
    // The step says it failed; the error's own line is the CLI's, printed once (test/e2e/path-environment.test.ts).
    expect(lines.at(-1)).toMatch(/ERR preflight checks failed$/);
    expect(lines.join('\n')).not.toContain('kubeconfig /nonexistent/kubeconfig not found');
  });

  it('stops at the first failing check', async () => {
    const f = useFake({ 'docker info': { code: 1, stderr: 'daemon down' } });
    await envError(runPreflight({ docker: true, kind: true, istioctl: true }));
    expect(f.calls.map((c) => c.command)).toEqual(['docker']);
  });
});

describe('kind lifecycle through the process runner', () => {
  it('finds an existing cluster by name', async () => {
    useFake({ 'kind get clusters': { stdout: 'other\nmesh-verify\n' } });
    expect(await kindClusterExists('mesh-verify')).toBe(true);
    expect(await kindClusterExists('mesh')).toBe(false);
  });

  it('kind get clusters failing is an environment error', async () => {
    useFake({ 'kind get clusters': { code: 1, stderr: 'ERROR: failed to list clusters: command "docker ps" failed' } });
    const e = await envError(kindClusterExists('x'));
    expect(e.message).toBe('kind get clusters failed: ERROR: failed to list clusters: command "docker ps" failed');
  });

  it('creates from the config file with the pinned node image and reports progress', async () => {
    const f = useFake({ 'kind create cluster': { stderr: 'Creating cluster "mesh-verify" ...\n ✓ Ensuring node image\n' } });
    const lines: string[] = [];
    expect(await createKindCluster('mesh-verify', undefined, plainProgress((l) => lines.push(l)))).toEqual({ context: 'kind-mesh-verify' });
    expect(f.calls[0].args).toEqual(['create', 'cluster', '--name', 'mesh-verify', '--config', KIND_CONFIG_FILE, '--image', v.kindNodeImage, '--wait', '120s']);
    expect(lines.some((l) => l.includes('kind: ✓ Ensuring node image'))).toBe(true);
    expect(lines.at(-1)).toMatch(/ok  kind cluster mesh-verify created/);
  });

  it('a busy host port is named in the fix', async () => {
    useFake({ 'kind create cluster': { code: 1, stderr: 'ERROR: failed to create cluster: ... Bind for 127.0.0.1:9443 failed: port is already allocated' } });
    const e = await envError(createKindCluster('mesh-verify'));
    expect(e.message).toMatch(/^kind create cluster mesh-verify failed: ERROR: failed to create cluster/);
    expect(e.fix).toMatch(/free host port 9443/);
  });

  it('deletes by name; a failure says how to do it by hand', async () => {
    const f = useFake({ 'kind delete cluster': { code: 0 } });
    await deleteKindCluster('mesh-verify');
    expect(f.calls[0].args).toEqual(['delete', 'cluster', '--name', 'mesh-verify']);
    restore!();
    useFake({ 'kind delete cluster': { code: 1, stderr: 'boom' } });
    expect((await envError(deleteKindCluster('mesh-verify'))).fix).toBe('run kind delete cluster --name mesh-verify');
  });
});

describe('istioctl install', () => {
  it('installs from fixtures/istio with the matching istioctl, for the given context', async () => {
    const f = useFake({ 'istioctl version': { stdout: `client version: ${v.istio}\n` }, 'istioctl install': { stdout: '✔ Istio core installed\n✔ Installation complete\n' } });
    expect(await installIstio({ context: 'kind-mesh-verify' })).toEqual({ version: v.istio });
    expect(f.calls[1].args).toEqual(['install', '-y', '-f', ISTIO_OPERATOR_FILE, '--context', 'kind-mesh-verify']);
  });

  it('refuses a mismatched istioctl and names the fix', async () => {
    const f = useFake({ 'istioctl version': { stdout: 'client version: 1.26.0\n' } });
    const e = await envError(installIstio({}));
    expect(e.message).toBe(`istioctl on PATH is 1.26.0, but Istio ${v.istio} is wanted`);
    expect(f.calls).toHaveLength(1);
  });

  it('a failed install is an environment error with istioctl\'s last line', async () => {
    useFake({ 'istioctl version': { stdout: `${v.istio}\n` }, 'istioctl install': { code: 1, stderr: 'Error: failed to install manifests: context deadline exceeded\n' } });
    expect((await envError(installIstio({}))).message).toBe('istioctl install failed: Error: failed to install manifests: context deadline exceeded');
  });

  it('reads the Istio version and revision from istiod pods', () => {
    expect(versionFromImage('docker.io/istio/pilot:1.27.1')).toBe('1.27.1');
    expect(versionFromImage('gcr.io/istio-release/pilot:1.27.1-distroless')).toBe('1.27.1');
    expect(versionFromImage('localhost:5000/pilot')).toBeNull();
    expect(istioFromPod({ metadata: { labels: { 'istio.io/rev': 'canary' } }, spec: { containers: [{ name: 'discovery', image: 'istio/pilot:1.26.2' }] } }))
      .toEqual({ version: '1.26.2', revision: 'canary' });
  });
});

describe('the real process runner', () => {
  it('reports a missing program as CommandNotFoundError and collects output and exit code', async () => {
    await expect(spawnProcessRunner('mesh-verify-no-such-program', [])).rejects.toThrow(/command not found/);
    const r = await spawnProcessRunner(process.execPath, ['-e', 'console.log("a"); console.error("first\\nlast"); process.exit(3)']);
    expect(r).toEqual({ code: 3, stdout: 'a\n', stderr: 'first\nlast\n' });
    expect(lastLine(r)).toBe('last');
  });
});

describe('kubeconfig discovery', () => {
  it('no KUBECONFIG and no ~/.kube/config is exit 4 naming where it looked', async () => {
    const { loadKubeConfig } = await import('../../src/cluster/kube-client.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const home = mkdtempSync(join(tmpdir(), 'mesh-verify-home-'));
    const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG, KSH: process.env.KUBERNETES_SERVICE_HOST };
    process.env.HOME = home;
    delete process.env.KUBECONFIG;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      const err = (() => { try { loadKubeConfig(); return null; } catch (e) { return e as EnvironmentError; } })();
      expect(err).toBeInstanceOf(EnvironmentError);
      expect(err!.message).toBe(`no kubeconfig found (KUBECONFIG is unset and ${join(home, '.kube', 'config')} does not exist)`);
    } finally {
      for (const [k, v] of Object.entries({ HOME: saved.HOME, KUBECONFIG: saved.KUBECONFIG, KUBERNETES_SERVICE_HOST: saved.KSH })) {
        if (v === undefined) delete process.env[k]; else process.env[k] = v;
      }
      rmSync(home, { recursive: true, force: true });
    }
  });
});
