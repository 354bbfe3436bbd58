import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import type { Server } from 'node:http';

/** Location of the reference app (fixtures/topology/app/app.mjs), from src/ or dist/. */
export function appSourcePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'fixtures', 'topology', 'app', 'app.mjs');
}

export interface AppOptions {
  role: 'bff' | 'svc';
  pod?: string;
  upstreamUrl?: string;
  upstreamHost?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** Load the same app code the cluster runs (used by the lab). */
export async function loadApp(): Promise<{ createApp(opts: AppOptions): Server }> {
  return (await import(pathToFileURL(appSourcePath()).href)) as { createApp(opts: AppOptions): Server };
}
