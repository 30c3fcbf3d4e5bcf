import { createHash, randomBytes } from 'node:crypto';
import type Keyv from 'keyv';
import type { PendingEnrollment } from './device.js';
import type { Mac } from '../mac.js';
import { storeCall } from '../store/state-store.js';

/** How long a router has to redeem a login token: the browser is redirected to it at once. */
export const LOGIN_TOKEN_TTL_MS = 2 * 60 * 1000;

/**
 * A one-time login the portal hands to a UAM router (CoovaChilli) after a person logged
 * in: the router sends `id` as User-Name and `secret` as the password (PAP or CHAP), and
 * the Access-Accept opens the session that was already issued (or, with `enroll`, the
 * enrollment and session recorded at that moment). Bound to the device's MAC.
 */
export interface LoginToken {
  readonly mac: Mac;
  readonly user: string;
  /** The NAS (router name) the token was issued for. */
  readonly nas: string;
  /** The password. 16 ASCII characters: CoovaChilli hides exactly one 16-octet block (redir.c). */
  readonly secret: string;
  readonly expiresAt: string;
  /**
   * The enrollment to record when the router redeems the token, for a device the router's
   * redirect named without proof (MikroTik): the redemption's Calling-Station-Id proves it.
   * Absent: the device was proven at the portal and its session is already issued.
   */
  readonly enroll?: PendingEnrollment;
}

/** The User-Name of a token login: recognisable, so the RADIUS server never mistakes it for a MAC. */
export const LOGIN_TOKEN_ID = /^uam-[A-Za-z0-9_-]{16}$/;

/** A short, non-reversible reference to a token for logs (never the token itself). */
export function tokenRef(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 8);
}

/** One-time login tokens by id; the backend forgets them after the TTL, and a redeemed one is deleted. */
export class LoginTokenStore {
  constructor(private readonly kv: Keyv) {}

  /** Issues a token for a device's session. */
  async issue(fields: Pick<LoginToken, 'mac' | 'user' | 'nas' | 'enroll'>, now: Date): Promise<{ id: string; token: LoginToken }> {
    const id = `uam-${randomBytes(12).toString('base64url')}`;
    const token: LoginToken = {
      ...fields,
      secret: randomBytes(12).toString('base64url'),
      expiresAt: new Date(now.getTime() + LOGIN_TOKEN_TTL_MS).toISOString(),
    };
    await storeCall('write a login token', () => this.kv.set(id, token, LOGIN_TOKEN_TTL_MS));
    return { id, token };
  }

  /** The token with this id while it is unexpired (by the injected clock, whatever the backend's TTL did). */
  async get(id: string, now: Date): Promise<LoginToken | undefined> {
    if (!LOGIN_TOKEN_ID.test(id)) return undefined;
    const token = await storeCall('read a login token', () => this.kv.get<LoginToken>(id));
    return token && Date.parse(token.expiresAt) > now.getTime() ? token : undefined;
  }

  /**
   * Redeems a token: deletes it, and says whether this call was the one that deleted it,
   * so two requests racing with the same token cannot both be accepted.
   */
  async redeem(id: string): Promise<boolean> {
    return storeCall('delete a login token', () => this.kv.delete(id));
  }
}
