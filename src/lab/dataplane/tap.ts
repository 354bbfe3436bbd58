import type { HopName } from './mesh-context.js';
import { TcpRelay } from './tcp-relay.js';

/** Bytes seen on one hop, in both directions (capped). */
export interface TapRecord {
  hop: HopName;
  connections: number;
  forward: Buffer;
  reverse: Buffer;
  /** True when `marker` appears in the recorded bytes, either direction. */
  sees(marker: string | Buffer): boolean;
  clear(): void;
}

const CAP = 4 * 1024 * 1024;

/** A recording relay inserted between two parties (tap: true). */
export class Tap implements TapRecord {
  readonly relay: TcpRelay;
  connections = 0;
  private fwd: Buffer[] = [];
  private rev: Buffer[] = [];
  private size = 0;

  constructor(readonly hop: HopName, target: () => number) {
    this.relay = new TcpRelay(target, (dir, chunk) => {
      if (this.size + chunk.length > CAP) return;
      this.size += chunk.length;
      (dir === 'forward' ? this.fwd : this.rev).push(Buffer.from(chunk));
    });
    this.relay.server.on('connection', () => { this.connections += 1; });
  }

  get forward(): Buffer {
    return Buffer.concat(this.fwd);
  }

  get reverse(): Buffer {
    return Buffer.concat(this.rev);
  }

  sees(marker: string | Buffer): boolean {
    return this.forward.includes(marker) || this.reverse.includes(marker);
  }

  clear(): void {
    this.fwd = [];
    this.rev = [];
    this.size = 0;
    this.connections = 0;
  }
}
