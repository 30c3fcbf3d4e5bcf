import { randomBytes } from 'node:crypto';
import type Keyv from 'keyv';
import type { Mac } from '../mac.js';
import { GatewayError, LinkExpiredError } from '../errors.js';
import { storeCall } from '../store/state-store.js';

/**
 * A one-time link to a device's enrollment profile, issued after its owner logged in.
 * The profile is built for that device and person only; the link works once, from the
 * address that logged in, and expires within minutes (ios.profile.link_ttl_seconds).
 */
export interface ProfileLink {
  readonly mac: Mac;
  readonly owner: string;
  /** The client address the owner logged in from. */
  readonly ip: string;
  readonly expiresAt: string;
  /**
   * The one file this link hands out, where a page offers several (Windows); absent on a
   * link to a device's page or its Apple profile.
   */
  readonly file?: LinkedFile;
}

/**
 * A file behind a link: a network's WLAN profile (by SSID), the root CA, or the device's
 * PKCS#12, built when its page was shown (base64). The store holds the PKCS#12 only
 * encrypted: its password was shown on that page and is kept nowhere.
 */
export type LinkedFile = { readonly kind: 'wlan'; readonly ssid: string } | { readonly kind: 'ca' } | { readonly kind: 'p12'; readonly p12: string };

const LINK_ID = /^[A-Za-z0-9_-]{32}$/;

/** Whole minutes (at least 1) until the link expires, for the page that offers it. */
export function minutesLeft(link: Pick<ProfileLink, 'expiresAt'>, now: Date): number {
  return Math.max(1, Math.round((Date.parse(link.expiresAt) - now.getTime()) / 60_000));
}

export class ProfileLinkStore {
  constructor(
    private readonly kv: Keyv,
    private readonly ttlSeconds: number,
  ) {}

  async issue(fields: Omit<ProfileLink, 'expiresAt'>, now: Date): Promise<{ id: string; link: ProfileLink }> {
    const id = randomBytes(24).toString('base64url');
    const link: ProfileLink = { ...fields, expiresAt: new Date(now.getTime() + this.ttlSeconds * 1000).toISOString() };
    await storeCall('write a profile link', () => this.kv.set(id, link, this.ttlSeconds * 1000));
    return { id, link };
  }

  /** The link while it is unused and unexpired, for the page that offers it. */
  async peek(id: string, ip: string, now: Date): Promise<ProfileLink> {
    if (!LINK_ID.test(id)) throw new LinkExpiredError();
    const link = await storeCall('read a profile link', () => this.kv.get<ProfileLink>(id));
    if (!link || Date.parse(link.expiresAt) <= now.getTime() || link.ip !== ip) throw new LinkExpiredError();
    return link;
  }

  /**
   * Uses the link up. The delete decides: of two downloads racing with the same link,
   * only the one whose delete removed it gets the profile.
   */
  async take(id: string, ip: string, now: Date): Promise<ProfileLink> {
    const link = await this.peek(id, ip, now);
    const deleted = await storeCall('delete a profile link', () => this.kv.delete(id));
    if (!deleted) throw new LinkExpiredError();
    return link;
  }

  /**
   * Runs `use` with a link `take` used up. When it fails on our side (a 5xx: a certificate
   * that could not be issued, the store failing), the person got nothing: the link is put
   * back for the time it had left, so that opening it again tries again rather than answer
   * "expired", and the error is thrown on. A refusal (the device no longer enrolled) is the
   * link's answer, and leaves it used up. Taking before issuing stays: of two opens racing,
   * only one issues.
   */
  async giveBackOnFailure<T>(id: string, link: ProfileLink, now: () => Date, use: () => Promise<T>): Promise<T> {
    try {
      return await use();
    } catch (err) {
      if (err instanceof GatewayError && err.expose) throw err;
      const left = Date.parse(link.expiresAt) - now().getTime();
      // The error thrown on says what failed; a store that cannot take the link back failed with it.
      if (left > 0) await storeCall('put back a profile link', () => this.kv.set(id, link, left)).catch(() => undefined);
      throw err;
    }
  }
}
