import type Keyv from 'keyv';
import type { Mac } from '../mac.js';
import type { Maybe } from '../maybe.js';
import { storeCall, type StateStore } from '../store/state-store.js';
import { isLive, type Session } from './session.js';

/** Sessions by device MAC, at most one per device. */
export class SessionStore {
  /**
   * @param readNow the store's synchronous read, when it has one (the embedded SQLite
   *   store's StateStore.readNow): live() then answers without a promise.
   */
  constructor(
    private readonly kv: Keyv,
    private readonly readNow?: (mac: Mac) => unknown,
  ) {}

  /** The sessions of a state store, read synchronously where the store can (StateStore.readNow). */
  static on(store: StateStore): SessionStore {
    const { readNow } = store;
    return new SessionStore(store.kv.sessions, readNow && ((mac) => readNow('sessions', mac)));
  }

  /**
   * The device's live session, or undefined (an expired one is never returned, whatever the
   * backend's TTL did): at once on a store that reads synchronously, else a promise (Maybe).
   */
  live(mac: Mac, now: Date): Maybe<Session | undefined> {
    // No closure on the synchronous path: it runs at every MAC authentication.
    if (this.readNow) return liveOrNone(this.readNow(mac) as Session | undefined, now);
    return storeCall('read a session', () => this.kv.get<Session>(mac)).then((session) => liveOrNone(session, now));
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

function liveOrNone(session: Session | undefined, now: Date): Session | undefined {
  return session && isLive(session, now) ? session : undefined;
}
