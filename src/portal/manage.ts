import { randomBytes, timingSafeEqual } from 'node:crypto';
import type Keyv from 'keyv';
import { FlowExpiredError } from '../errors.js';
import { storeCall } from '../store/state-store.js';

/** How long "My devices" stays logged in without a new password. */
export const MANAGE_TTL_SECONDS = 10 * 60;
export const MANAGE_COOKIE = 'eg_manage';

/**
 * A logged-in visit that is about a person, not the device in hand: "My devices"
 * (the employee's self-service page; a lost phone is managed from another one) and
 * the admin console. Before login it holds only the form token; after login, the
 * person (and, in the console, their role). Logging in replaces it with a new id, so
 * a token seen before the login is worth nothing after it. Bound to the client
 * address, like flows.
 */
export interface ManageVisit {
  readonly id: string;
  /** Set once the person logged in. */
  readonly user?: string;
  /** The admin console's role of the person. */
  readonly role?: string;
  readonly ip: string;
  readonly csrf: string;
  readonly expiresAt: string;
}

const VISIT_ID = /^[A-Za-z0-9_-]{24}$/;

export class ManageVisitStore {
  /**
   * Shares the flows namespace (short-lived visits all): "My devices" under the key
   * prefix manage:, the admin console under admin:, each with its own lifetime.
   */
  constructor(
    private readonly kv: Keyv,
    private readonly o: { prefix: string; ttlSeconds: number } = { prefix: 'manage:', ttlSeconds: MANAGE_TTL_SECONDS },
  ) {}

  get ttlSeconds(): number {
    return this.o.ttlSeconds;
  }

  async start(fields: { ip: string; user?: string; role?: string }, now: Date): Promise<ManageVisit> {
    const visit: ManageVisit = {
      ...fields,
      id: randomBytes(18).toString('base64url'),
      csrf: randomBytes(18).toString('base64url'),
      expiresAt: new Date(now.getTime() + this.o.ttlSeconds * 1000).toISOString(),
    };
    await storeCall('write a visit', () => this.kv.set(this.o.prefix + visit.id, visit, this.o.ttlSeconds * 1000));
    return visit;
  }

  /** Moves the visit's end to a full lifetime from now (activity keeps a console login alive). */
  async extend(visit: ManageVisit, now: Date): Promise<ManageVisit> {
    const extended = { ...visit, expiresAt: new Date(now.getTime() + this.o.ttlSeconds * 1000).toISOString() };
    await storeCall('write a visit', () => this.kv.set(this.o.prefix + visit.id, extended, this.o.ttlSeconds * 1000));
    return extended;
  }

  /** The visit the cookie names, when it is unexpired and from this address; undefined otherwise. */
  async find(id: string | undefined, ip: string, now: Date): Promise<ManageVisit | undefined> {
    if (!id || !VISIT_ID.test(id)) return undefined;
    const visit = await storeCall('read a visit', () => this.kv.get<ManageVisit>(this.o.prefix + id));
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
    await storeCall('delete a visit', () => this.kv.delete(this.o.prefix + visit.id));
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
