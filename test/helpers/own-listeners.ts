import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * TCP ports this process is listening on (Linux /proc): a closed lab must leave none of its own,
 * whatever other processes on the machine happen to bind meanwhile. Null where /proc is absent.
 */
export function ownListeningPorts(): Set<number> | null {
  if (!existsSync('/proc/self/fd') || !existsSync('/proc/net/tcp')) return null;
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* fd closed meanwhile */ }
  }
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = LISTEN
      if (inodes.has(f[9])) ports.add(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}
