import type { AddressInfo, Server, Socket } from 'node:net';

/** Listen on an ephemeral 127.0.0.1 port; resolves with the port. */
export function listenLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(serverPort(server));
    });
  });
}

export function serverPort(server: Server): number {
  return (server.address() as AddressInfo | null)?.port ?? 0;
}

/** Remember a socket until it closes (so that close can end it). */
export function trackSocket<T extends Socket>(sockets: Set<Socket>, socket: T): T {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
  return socket;
}

/** Destroy every tracked socket, then close the server. */
export function closeLoopback(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  sockets.clear();
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

/** Pipe two sockets both ways; either closing ends the other. */
export function spliceSockets(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.once('close', () => b.destroy());
  b.once('close', () => a.destroy());
}

/** A server on an ephemeral loopback port that ends its connections when closed. */
export class LoopbackService {
  protected readonly sockets = new Set<Socket>();

  constructor(readonly server: Server) {}

  listen(): Promise<number> {
    return listenLoopback(this.server);
  }

  get port(): number {
    return serverPort(this.server);
  }

  close(): Promise<void> {
    return closeLoopback(this.server, this.sockets);
  }
}
