import type { AccountingStore } from '../accounting/accounting-store.js';
import type { Device, Platform } from '../devices/device.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { EnrollmentService } from '../devices/enrollment-service.js';
import type { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Mac } from '../mac.js';
import type { NasTable } from '../radius/clients.js';
import type { SessionService } from '../sessions/session-service.js';
import type { Session } from '../sessions/session.js';
import { decideStartPage } from './decide.js';
import type { MacSource } from './flow.js';
import { identifyDevice } from './identify.js';
import { readUamRedirect, UAM_PROOF, type UamLogin, type UamRedirect } from './uam/read-redirect.js';
import type { RedirectQuery } from './uam/redirect-query.js';
import type { DetectedOs } from './user-agent.js';

/** What a visit to the start page is made of: the browser's address, its User-Agent's OS, and the query a router may have sent it with. */
export interface VisitRequest {
  readonly ip: string;
  readonly os: DetectedOs;
  readonly query: RedirectQuery;
  /** The query string as it came (CoovaChilli signs it as it came). */
  readonly rawQuery: string;
  /** The URLs a CoovaChilli router may have signed its redirect against (its uamserver). */
  readonly portalUrls: readonly string[];
}

/** The device a visit is about, and how we know it. */
interface Known {
  readonly mac: Mac;
  readonly source: MacSource;
  /** The UAM NAS's login, when a UAM NAS sent the browser and its redirect verified. */
  readonly uam?: UamLogin;
}

/** Which page the start page shows, with what it needs (decide.ts's table, plus identity and policy). */
export type StartVisit =
  | { readonly page: 'unidentified' }
  /** Named only by unsigned parameters, and nothing will prove it: not enrolled here. */
  | ({ readonly page: 'unproven' } & Known)
  /** Refused by the device policy before a password is asked for. */
  | ({ readonly page: 'refused'; readonly problem: GatewayError; readonly platform: Platform } & Known)
  | ({ readonly page: 'online'; readonly session: Session; readonly device: Device | undefined } & Known)
  /** `showOwner`: false on a claim, which shows no owner. */
  | ({ readonly page: 'login'; readonly device: Device; readonly showOwner: boolean } & Known)
  /** `ipadChoice`: a Mac User-Agent where iPads may enroll: the page also offers "this is an iPad". */
  | ({ readonly page: 'register'; readonly platform: Platform; readonly osVersion?: string; readonly model?: string; readonly ipadChoice?: boolean } & Known)
  /** The device is known, for the Passpoint offer's registration flow. */
  | ({ readonly page: 'android-agent'; readonly osVersion?: string } & Known)
  /** `ipad`: the device, when the visitor may be an iPad (desktop Safari) and may register as one. */
  | { readonly page: 'unsupported'; readonly osName: string; readonly ipad?: Known };

/**
 * Works out who visits the start page and which page they get: the device (identify.ts:
 * the accounting lease, a signed redirect, or a claim), a UAM NAS's login, its session and
 * enrollment (decide.ts), the device policy, and whether a claim may be enrolled here
 * (UAM_PROOF). The start action only renders what this decides.
 */
export class StartVisits {
  constructor(
    private readonly o: {
      accounting: AccountingStore;
      sessions: SessionService;
      devices: DeviceRegistry;
      enrollment: EnrollmentService;
      nas: NasTable;
      log: Logger;
      /** portal.identify_by_redirect_parameters. */
      identifyByRedirectParameters: boolean;
      /** The Android agent download, when configured: Android devices then go to its page. */
      agent?: unknown;
    },
  ) {}

  async begin(v: VisitRequest): Promise<StartVisit> {
    const redirect = readUamRedirect(v.query, v.rawQuery, v.portalUrls, (uamip, nasid) => this.o.nas.uamNas(uamip, nasid));
    const identified = await identifyDevice(v.ip, v.query, this.o.accounting, this.o.identifyByRedirectParameters, redirect);
    if ('problem' in identified) {
      this.o.log.info({ event: 'portal.unidentified', ip: v.ip, problem: identified.problem }, 'portal visitor not identified');
      return { page: 'unidentified' };
    }
    const { mac, source } = identified;
    const uam = this.uamLogin(redirect, mac);
    const known: Known = { mac, source, ...(uam ? { uam } : {}) };
    // A claim (unsigned redirect parameters) shows neither the owner nor the session, nor
    // the block list: anyone can type a colleague's MAC, which is visible over the air.
    const claimed = source === 'claimed';
    const [session, device] = await Promise.all([claimed ? undefined : this.o.sessions.live(mac), this.o.devices.get(mac)]);
    const platform = v.os.platform;
    let page = decideStartPage({ identified: true, hasSession: session !== undefined, enrolled: device !== undefined, platform, androidAgent: this.o.agent !== undefined });
    // A Mac User-Agent may be an iPad's: where Macs may not enroll but iPads may, only the iPad choice is left.
    const ipadChoice = v.os.maybeIpad === true && this.o.enrollment.allows('ios');
    if (page === 'register' && platform === 'macos' && ipadChoice && !this.o.enrollment.allows('macos')) page = 'unsupported';

    // Policy problems (blocked, platform not allowed, randomised MAC, OS too old) are told before anyone types a password.
    if (!claimed && page === 'login') {
      // The version this browser tells, when it is the enrolled device's platform; else the one recorded.
      const osVersion = v.os.platform === device!.platform && v.os.version ? v.os.version : device!.osVersion;
      const problem = await this.refusal(device!.mac, device!.platform, osVersion, 'login');
      if (problem) return { page: 'refused', problem, platform: device!.platform, ...known };
    }
    if (!claimed && (page === 'register' || page === 'android-agent')) {
      const problem = await this.refusal(mac, platform, v.os.version);
      if (problem) return { page: 'refused', problem, platform, ...known };
    }
    // A device only a claim names is enrolled only where the NAS proves it when it redeems the login.
    if ((page === 'register' || (page === 'unsupported' && v.os.maybeIpad)) && !mayEnrollHere(source, uam)) {
      this.o.log.info({ event: 'portal.unproven', mac }, 'device named only by unsigned redirect parameters: not enrolled here');
      return { page: 'unproven', ...known };
    }
    switch (page) {
      case 'online':
        return { page, session: session!, device, ...known };
      case 'login':
        return { page, device: device!, showOwner: !claimed, ...known };
      case 'register':
        return {
          page,
          platform,
          ...(v.os.version ? { osVersion: v.os.version } : {}),
          ...(v.os.model ? { model: v.os.model } : {}),
          ...(platform === 'macos' && ipadChoice ? { ipadChoice } : {}),
          ...known,
        };
      case 'android-agent':
        return { page, ...(v.os.version ? { osVersion: v.os.version } : {}), ...known };
      case 'unsupported':
        // "This is an iPad" only where iPads may enroll (the POST checks it again).
        return { page, osName: v.os.name, ...(ipadChoice ? { ipad: known } : {}) };
      case 'unidentified':
        return { page };
    }
  }

  /** The device policy's refusal of this device before a password (EnrollmentService.precheck), logged; undefined when none. */
  async refusal(mac: Mac, platform: Platform, osVersion: string | undefined, purpose: 'enroll' | 'login' = 'enroll'): Promise<GatewayError | undefined> {
    const problem = await this.o.enrollment.precheck(mac, platform, osVersion, purpose);
    if (problem) this.o.log.info({ event: 'portal.refused', mac, code: problem.code }, 'device refused by policy');
    return problem;
  }

  /**
   * A UAM NAS's redirect, when it verified and names the device we identified; otherwise
   * it is ignored (logged) and the visit is an ordinary one.
   */
  private uamLogin(read: UamRedirect, mac: Mac): UamLogin | undefined {
    if (read.kind === 'none') return undefined;
    if (read.kind === 'ignored') {
      this.o.log.info({ event: 'portal.uam_ignored', mac, problem: read.problem }, 'UAM redirect parameters ignored');
      return undefined;
    }
    // openNDS may not name the device; when a NAS names one, it must be the one we identified.
    if (read.mac !== undefined && read.mac !== mac) {
      this.o.log.info({ event: 'portal.uam_ignored', mac, problem: 'the redirect names another device' }, 'UAM redirect parameters ignored');
      return undefined;
    }
    return read.uam;
  }
}

/**
 * Whether the portal may enroll the device a visit names: when accounting or a signed
 * redirect identified it, or when the NAS that sent the browser proves the device as it
 * redeems the login (UAM_PROOF), which is when the enrollment is then recorded.
 */
export function mayEnrollHere(source: MacSource, uam: UamLogin | undefined): boolean {
  return source !== 'claimed' || (uam !== undefined && UAM_PROOF[uam.kind].redemption);
}
