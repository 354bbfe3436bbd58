import { createServer } from 'node:net';

/** Whether host:port can be bound now (the lab checks a loopback address is free before a process takes it). */
export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}
