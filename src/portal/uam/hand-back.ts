import type { Clock } from '../../clock.js';
import type { PendingEnrollment } from '../../devices/device.js';
import { tokenRef, type LoginTokenStore } from '../../devices/login-token-store.js';
import { BadInputError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Mac } from '../../mac.js';
import type { NasTable } from '../../radius/clients.js';
import { uamLogonUrl } from './coovachilli.js';
import { mikrotikLoginUrl } from './mikrotik.js';
import { openNdsAuthUrl } from './opennds.js';
import type { UamLogin } from './read-redirect.js';

/** A person the portal logged in, to be let in by the UAM router that sent their browser. */
export interface HandBack {
  readonly mac: Mac;
  readonly user: string;
  /** Where the router sends the browser once it has let the device in (the portal's done page). */
  readonly done: string;
  /** An enrollment to record when the router redeems the login, which proves the device (UAM_PROOF). */
  readonly enroll?: PendingEnrollment;
}

/**
 * Hands a portal login back to the UAM router that started it: the session is issued; the
 * router still has to open it. CoovaChilli and MikroTik: a one-time token, bound to the
 * device, goes to the router's logon URL (coovachilli.ts, mikrotik.ts), and the router
 * redeems it over RADIUS (radius/uam-login.ts). openNDS: the browser takes the
 * authorisation to the gateway (opennds.ts).
 */
export class UamHandBack {
  constructor(
    private readonly deps: {
      /** The configured routers: which are UAM routers, of which kind, with which secrets. */
      nas: NasTable;
      loginTokens: LoginTokenStore;
      clock: Clock;
      log: Logger;
    },
  ) {}

  /**
   * The router's logon URL that lets the device in, for the router `uam` names; a
   * BadInputError when that router is no longer set up as it was when the flow started.
   */
  async logonUrl(uam: UamLogin, login: HandBack): Promise<string> {
    const { mac, user, done, enroll } = login;
    const nas = this.deps.nas.byName(uam.nas);
    if (!nas?.uam || nas.uam.kind !== uam.kind) throw nasGone();
    if (uam.kind === 'opennds') {
      if (!nas.uam.opennds) throw nasGone();
      this.deps.log.info({ event: 'portal.opennds_authorised', mac, user, nas: nas.name }, 'authorisation handed to the openNDS gateway');
      return openNdsAuthUrl(uam, nas.uam.opennds, done);
    }
    const { id, token } = await this.deps.loginTokens.issue({ mac, user, nas: nas.name, ...(enroll ? { enroll } : {}) }, this.deps.clock.now());
    const method = uam.kind === 'mikrotik' ? 'chap' : nas.uam.method;
    this.deps.log.info({ event: 'portal.uam_token_issued', mac, user, nas: nas.name, tokenRef: tokenRef(id), method }, 'one-time login issued to the router');
    if (uam.kind === 'mikrotik') return mikrotikLoginUrl(uam, id, token.secret, done);
    if (nas.uam.secret === undefined) throw nasGone();
    return uamLogonUrl(uam, nas.uam.method, id, token.secret, nas.uam.secret, done);
  }
}

/** The router of a flow was removed or changed in the config while the person was logging in. */
function nasGone(): BadInputError {
  return new BadInputError('this router is no longer set up for portal logins; please reconnect to the Wi-Fi');
}
