import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appSourcePath } from '../../src/topology/app-source.js';

/**
 * A ConfigMap volume as the kubelet writes it (kubernetes pkg/volume/util/atomic_writer.go):
 * the payload goes into a timestamped directory `..<UTC time 2006_01_02_15_04_05>.<random>`,
 * `..data` is a symlink to it, and every user-visible file is a symlink `<name> -> ..data/<name>`.
 * The Deployment runs `node /app/app.mjs`, i.e. through two symlinks.
 */
function configMapVolume(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mv-cm-'));
  const payload = '..2026_12_02_07_13_08.1234567890';
  mkdirSync(join(dir, payload));
  copyFileSync(appSourcePath(), join(dir, payload, 'app.mjs'));
  symlinkSync(payload, join(dir, '..data'));
  symlinkSync(join('..data', 'app.mjs'), join(dir, 'app.mjs'));
  return dir;
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers: { 'x-request-id': 'rid-1', 'x-mesh-verify-id': 'mv-t-1' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

/** Resolves with the port the app prints once it listens; rejects when it exits first. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /listening on (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`app exited with code ${code} without listening; stdout: ${out}`)));
  });
}

describe('the reference app started from a ConfigMap volume', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('listens and answers when /app/app.mjs is the atomic writer\'s ..data symlink', async () => {
    const dir = configMapVolume();
    dirs.push(dir);
    const child = spawn(process.execPath, [join(dir, 'app.mjs')], {
      env: { ...process.env, ROLE: 'svc', PORT: '0', HOST: '127.0.0.1', POD_NAME: 'svc-0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const port = await listeningPort(child);
    const health = await get(port, '/healthz');
    expect(health).toEqual({ status: 200, body: 'ok' });
    const answer = await get(port, '/hello');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ service: 'svc', pod: 'svc-0', requestId: 'rid-1', path: '/hello' });
  });
});
