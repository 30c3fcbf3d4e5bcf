import { randomBytes, timingSafeEqual } from 'node:crypto';
import type Keyv from 'keyv';
import type { Platform } from '../devices/device.js';
import type { Mac } from '../mac.js';
import { FlowExpiredError } from '../errors.js';
import { storeCall } from '../store/state-store.js';
import type { UamLogin } from './uam/read-redirect.js';

/** What a form on the portal is for. */
export type FlowPurpose = 'login' | 'enroll' | 'profile';

/**
 * How we know which device the browser is (identify.ts): the router's accounting, a
 * redirect it signed, or unsigned redirect parameters (a claim, not proof).
 */
export type MacSource = 'accounting' | 'signed-redirect' | 'claimed';

/**
 * One visit to a form page: which device it is about and the token its form must
 * return. It lives server-side (the browser holds only its random id in a cookie)
 * and expires; an expired or unknown flow is a friendly "start again", never a 500.
 */
export interface Flow {
  readonly id: string;
  readonly purpose: FlowPurpose;
  readonly mac: Mac;
  readonly macSource: MacSource;
  /** The client address the flow was started from. */
  readonly ip: string;
  readonly platform: Platform;
  readonly osVersion?: string;
  /** The model the User-Agent names ("iPhone", "iPad"), recorded with the enrollment as the device's label. */
  readonly model?: string;
  readonly csrf: string;
  readonly expiresAt: string;
  /** Set when a UAM router (CoovaChilli, MikroTik, openNDS) sent the browser: the login is handed back to it (uam/). */
  readonly uam?: UamLogin;
}

export class FlowStore {
  constructor(
    private readonly kv: Keyv,
    private readonly ttlSeconds: number,
  ) {}

  /** Starts a flow. */
  async start(fields: Omit<Flow, 'id' | 'csrf' | 'expiresAt'>, now: Date): Promise<Flow> {
    const flow: Flow = {
      ...fields,
      id: randomBytes(18).toString('base64url'),
      csrf: randomBytes(18).toString('base64url'),
      expiresAt: new Date(now.getTime() + this.ttlSeconds * 1000).toISOString(),
    };
    await storeCall('write a portal flow', () => this.kv.set(flow.id, flow, this.ttlSeconds * 1000));
    return flow;
  }

  /**
   * The flow a form submission belongs to, checked: it exists, has not expired, is
   * for this purpose, and the form returned its token. Throws FlowExpiredError otherwise.
   */
  async load(id: string | undefined, purpose: FlowPurpose, csrf: unknown, now: Date): Promise<Flow> {
    if (!id || !/^[A-Za-z0-9_-]{24}$/.test(id)) throw new FlowExpiredError();
    const flow = await storeCall('read a portal flow', () => this.kv.get<Flow>(id));
    if (!flow || Date.parse(flow.expiresAt) <= now.getTime() || flow.purpose !== purpose) throw new FlowExpiredError();
    if (typeof csrf !== 'string' || !tokensEqual(csrf, flow.csrf)) throw new FlowExpiredError();
    return flow;
  }

  /** Ends a flow once its form has done its work, so it cannot be replayed. */
  async finish(flow: Flow): Promise<void> {
    await storeCall('delete a portal flow', () => this.kv.delete(flow.id));
  }
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
