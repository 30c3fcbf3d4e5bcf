import type { Socket } from 'node:dgram';

/**
 * RADIUS answers, sent together once the datagrams read in this turn of the event loop
 * have been worked on: libuv reads up to 32 datagrams a wake-up, and answering each at
 * once interleaves sends with work, so the NAS (or the load generator) is woken for
 * every answer. Sent back to back after the batch, each wake-up carries several. On
 * loopback with the C generator (bench:radius, alternating runs): the gateway's CPU per
 * answer 43 µs → 37.5–38.7, its rate 0.90 → 1.02–1.07 of FreeRADIUS's in the same runs,
 * p50 1.7 → 1.2 ms; a bare Node server (bench/node-floor.ts) 12–14 % more answers a second.
 * Flushing after every 8 answers as well did no better.
 *
 * Order is kept. An answer waits at most until the end of the turn it was made in
 * (setImmediate: after the poll phase's callbacks and the promises they settled). A
 * send that fails (the socket closed under it) is handed to `failed`, never thrown into
 * the event loop. flush() sends what waits at once (stop() calls it before closing).
 */
export class Outbox {
  /** Socket, bytes, port, address, in fours: no object per answer. */
  private readonly waiting: unknown[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly failed: (err: unknown) => void) {}

  send(socket: Socket, bytes: Buffer, port: number, address: string): void {
    this.waiting.push(socket, bytes, port, address);
    this.scheduled ??= setImmediate(this.flush);
  }

  /** How many answers wait for the end of the turn. */
  get size(): number {
    return this.waiting.length / 4;
  }

  readonly flush = (): void => {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const w = this.waiting;
    for (let i = 0; i < w.length; i += 4) {
      try {
        (w[i] as Socket).send(w[i + 1] as Buffer, w[i + 2] as number, w[i + 3] as string);
      } catch (err) {
        this.failed(err);
      }
    }
    w.length = 0;
  };
}
