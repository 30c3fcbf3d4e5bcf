import { randomBytes, timingSafeEqual } from 'node:crypto';
import type Keyv from 'keyv';
import { FlowExpiredError } from '../errors.js';
import { storeCall } from '../store/state-store.js';

/** How long "My devices" stays logged in without a new password. */
export const MANAGE_TTL_SECONDS = 10 * 60;
export const MANAGE_COOKIE = 'eg_manage';

/**
 * A visit to "My devices", the employee's self-service page. It is not about the
 * device in hand (a lost phone is managed from another one), so unlike a portal flow
 * it carries no MAC: before login it holds only the form token; after login, the
 * person. Logging in replaces it with a new id, so a token seen before the login is
 * worth nothing after it. Bound to the client address, like flows.
 */
export interface ManageVisit {
  readonly id: string;
  /** Set once the person logged in. */
  readonly user?: string;
  readonly ip: string;
  readonly csrf: string;
  readonly expiresAt: string;
}

const KEY_PREFIX = 'manage:';
const VISIT_ID = /^[A-Za-z0-9_-]{24}$/;

export class ManageVisitStore {
  /** Shares the flows namespace: both are short-lived portal visits. */
  constructor(private readonly kv: Keyv) {}

  async start(fields: { ip: string; user?: string }, now: Date): Promise<ManageVisit> {
    const visit: ManageVisit = {
      ...fields,
      id: randomBytes(18).toString('base64url'),
      csrf: randomBytes(18).toString('base64url'),
      expiresAt: new Date(now.getTime() + MANAGE_TTL_SECONDS * 1000).toISOString(),
    };
    await storeCall('write a self-service visit', () => this.kv.set(KEY_PREFIX + visit.id, visit, MANAGE_TTL_SECONDS * 1000));
    return visit;
  }

  /** The visit the cookie names, when it is unexpired and from this address; undefined otherwise. */
  async find(id: string | undefined, ip: string, now: Date): Promise<ManageVisit | undefined> {
    if (!id || !VISIT_ID.test(id)) return undefined;
    const visit = await storeCall('read a self-service visit', () => this.kv.get<ManageVisit>(KEY_PREFIX + id));
    if (!visit || Date.parse(visit.expiresAt) <= now.getTime() || visit.ip !== ip) return undefined;
    return visit;
  }

  /** The visit a form belongs to, with its token checked; FlowExpiredError otherwise. */
  async load(id: string | undefined, ip: string, csrf: unknown, now: Date): Promise<ManageVisit> {
    const visit = await this.find(id, ip, now);
    if (!visit || typeof csrf !== 'string' || !same(csrf, visit.csrf)) throw new FlowExpiredError();
    return visit;
  }

  async end(visit: ManageVisit): Promise<void> {
    await storeCall('delete a self-service visit', () => this.kv.delete(KEY_PREFIX + visit.id));
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
