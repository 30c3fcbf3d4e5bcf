import type Keyv from 'keyv';
import type { Mac } from '../devices/mac.js';
import { storeCall, type StateStore } from '../store/state-store.js';
import { isLive, type Session } from './session.js';

/** Sessions by device MAC, at most one per device. */
export class SessionStore {
  /**
   * live() without a promise, when the store reads synchronously (the embedded SQLite
   * store's readNow): RADIUS answers a request in one turn with it. Absent on Redis.
   */
  readonly liveNow?: (mac: Mac, now: Date) => Session | undefined;

  constructor(
    private readonly kv: Keyv,
    readNow?: (mac: Mac) => unknown,
  ) {
    if (readNow) {
      this.liveNow = (mac, now) => {
        const session = readNow(mac) as Session | undefined;
        return session && isLive(session, now) ? session : undefined;
      };
    }
  }

  /** The sessions of a state store, read synchronously where the store can (StateStore.readNow). */
  static on(store: StateStore): SessionStore {
    const { readNow } = store;
    return new SessionStore(store.kv.sessions, readNow && ((mac) => readNow('sessions', mac)));
  }

  /** The device's live session, or undefined (an expired one is never returned, whatever the backend's TTL did). */
  async live(mac: Mac, now: Date): Promise<Session | undefined> {
    const session = await storeCall('read a session', () => this.kv.get<Session>(mac));
    return session && isLive(session, now) ? session : undefined;
  }

  /** Stores a session, replacing the device's previous one; the backend forgets it at its end. */
  async put(session: Session, now: Date): Promise<void> {
    const ttl = Date.parse(session.endsAt) - now.getTime();
    if (ttl <= 0) return;
    await storeCall('write a session', () => this.kv.set(session.mac, session, ttl));
  }

  /** Every live session (reads the whole namespace: for the admin console, not per request). */
  async list(now: Date): Promise<Session[]> {
    const iterator = this.kv.iterator?.bind(this.kv);
    if (!iterator) throw new Error('the store cannot list its entries');
    return storeCall('list sessions', async () => {
      const out: Session[] = [];
      for await (const [, value] of iterator(undefined) as AsyncGenerator<[string, Session]>) if (isLive(value, now)) out.push(value);
      return out;
    });
  }

  /** Ends the device's session now; true when there was one. */
  async revoke(mac: Mac): Promise<boolean> {
    return storeCall('delete a session', () => this.kv.delete(mac));
  }
}
