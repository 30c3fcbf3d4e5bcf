import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../logger.js';

/**
 * EAP requests handed from one RADIUS worker to another, directly over loopback UDP.
 *
 * The kernel gives each datagram on the shared authentication socket to any worker, and
 * only the worker that began a conversation holds its TLS state (about half the packets
 * of a conversation land elsewhere with two workers). They used to travel worker → main
 * process → owner over the cluster's IPC channels: two hops, each serialised and written
 * to a pipe, which took a fifth of a worker's CPU during EAP-TLS load (bench:eap profile)
 * and kept the main process busy too. Here the worker that got the packet sends it to the
 * owner's own loopback socket in one datagram.
 *
 * Anyone on the machine can send to 127.0.0.1, so every hand-off is signed: HMAC-SHA256
 * under a key the main process draws at start and gives the workers over IPC. Without
 * it, a local process could make a worker answer a NAS in the name of a request the NAS
 * never sent to that address. A hand-off that does not verify is dropped and counted.
 * The request inside is checked again by the owner, as if it had arrived there
 * (Message-Authenticator with the NAS's secret).
 *
 * A hand-off: version (1 octet), tag (16 octets: the HMAC over the rest, truncated),
 * the NAS's port (2), the length of its address (1), its address as text, the request.
 */
const VERSION = 1;
const TAG_LENGTH = 16;
const HEADER = 1 + TAG_LENGTH + 2 + 1;
/** An address as text: the longest IPv6 form with a zone is well under this. */
const MAX_ADDRESS = 64;

/** The signing key, drawn by the main process once per start. */
export function newHandoffKey(): Buffer {
  return randomBytes(32);
}

/** The worker's answer to a hand-off it sent or received, for the metric. */
export type HandoffResult = 'sent' | 'received' | 'no_owner' | 'forged';

export interface Peer {
  readonly address: string;
  readonly port: number;
}

export function encodeHandoff(key: Buffer, raw: Buffer, peer: Peer): Buffer {
  const address = Buffer.from(peer.address, 'latin1');
  if (address.length > MAX_ADDRESS) throw new RangeError(`address too long for a hand-off: ${peer.address}`);
  const out = Buffer.allocUnsafe(HEADER + address.length + raw.length);
  out[0] = VERSION;
  out.writeUInt16BE(peer.port, 1 + TAG_LENGTH);
  out[1 + TAG_LENGTH + 2] = address.length;
  address.copy(out, HEADER);
  raw.copy(out, HEADER + address.length);
  tag(key, out).copy(out, 1);
  return out;
}

/** The request and its NAS, or undefined for anything that is not a hand-off signed with `key`. */
export function decodeHandoff(key: Buffer, datagram: Buffer): { raw: Buffer; peer: Peer } | undefined {
  if (datagram.length < HEADER || datagram[0] !== VERSION) return undefined;
  if (!timingSafeEqual(tag(key, datagram), datagram.subarray(1, 1 + TAG_LENGTH))) return undefined;
  const length = datagram[1 + TAG_LENGTH + 2]!;
  if (length === 0 || length > MAX_ADDRESS || HEADER + length >= datagram.length) return undefined;
  return {
    peer: { port: datagram.readUInt16BE(1 + TAG_LENGTH), address: datagram.toString('latin1', HEADER, HEADER + length) },
    raw: datagram.subarray(HEADER + length),
  };
}

function tag(key: Buffer, datagram: Buffer): Buffer {
  return createHmac('sha256', key)
    .update(datagram.subarray(0, 1))
    .update(datagram.subarray(1 + TAG_LENGTH))
    .digest()
    .subarray(0, TAG_LENGTH);
}

/**
 * A worker's end: its loopback socket, which receives the hand-offs for its
 * conversations, and the other workers' ports (from the main process, eg:routes).
 * Until the first routes arrive it has no key: it hands nothing off and takes nothing.
 */
export class HandoffSocket {
  private key: Buffer | undefined;
  private routes = new Map<number, number>();

  private constructor(
    private readonly socket: Socket,
    private readonly o: { receive: (raw: Buffer, peer: Peer) => void; count: (result: HandoffResult) => void; log: Logger },
  ) {
    socket.on('message', (datagram) => {
      const handoff = this.key ? decodeHandoff(this.key, datagram) : undefined;
      if (!handoff) {
        o.count('forged');
        return;
      }
      o.count('received');
      o.receive(handoff.raw, handoff.peer);
    });
    socket.on('error', (err) => o.log.error({ err, event: 'radius.handoff_socket_error' }, 'the socket for EAP hand-offs between workers failed'));
  }

  /**
   * Binds a free port on 127.0.0.1, its own: in a cluster worker a socket is otherwise
   * bound by the main process and shared, and every worker would get the same one.
   */
  static open(o: HandoffSocket['o']): Promise<HandoffSocket> {
    const socket = createSocket('udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, address: '127.0.0.1', exclusive: true }, () => {
        socket.off('error', reject);
        resolve(new HandoffSocket(socket, o));
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** The key and the port of each worker by its owner number (its cluster id's low octet), as the main process has them now. */
  setRoutes(key: Buffer, routes: ReadonlyArray<readonly [owner: number, port: number]>): void {
    this.key = key;
    this.routes = new Map(routes);
  }

  /** Sends a request to the worker `owner`; false when no such worker listens (it exited: its conversations are gone). */
  send(owner: number, raw: Buffer, peer: Peer): boolean {
    const port = this.routes.get(owner);
    if (port === undefined || !this.key) {
      this.o.count('no_owner');
      return false;
    }
    this.socket.send(encodeHandoff(this.key, raw, peer), port, '127.0.0.1', (err) => {
      if (err) this.o.log.warn({ err, event: 'radius.handoff_failed', owner }, 'an EAP request could not be handed to its worker (the NAS will send it again)');
    });
    this.o.count('sent');
    return true;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
