import type { Clock } from '../clock.js';
import type { DirectoryUser } from '../directory/directory.js';
import type { Authenticator } from '../directory/authenticator.js';
import { DeviceBlockedError, DeviceLimitReachedError, DeviceOwnedByOtherError, GatewayError, TooManyAttemptsError } from '../errors.js';
import type { AuditTrail, ClientFields } from '../audit/events.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Session } from '../sessions/session.js';
import type { SessionService } from '../sessions/session-service.js';
import type { Device, PendingEnrollment, Platform } from './device.js';

import { sameUser, type BlockEntry, type DeviceRegistry } from './device-registry.js';
import type { Mac } from '../mac.js';
import { CRL_REASON, type CrlReasonCode, type RevokedCertificateEntry } from '../pki/revocation-reasons.js';
import { DeviceAdministration, recordRevocations } from './device-administration.js';
import type { DevicePolicy } from './policy.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** The client address they came from (login throttling counts per person and address). */
  readonly from?: string;
  /** Where they logged in from, for the audit trail (login.succeeded, login.failed). */
  readonly client?: ClientFields;
}

/** How a device is being enrolled, besides who and what. */
export interface EnrollOptions {
  /** At the portal (the default) or by the Android agent's API. */
  readonly via?: 'portal' | 'agent';
  /** The device model the agent reports. */
  readonly model?: string;
  readonly agentVersion?: string;
}

/** What recording an enrollment needs: no directory, so a RADIUS process can complete a pending one. */
export interface EnrollmentRecordDeps {
  readonly devices: DeviceRegistry;
  readonly sessions: SessionService;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly log: Logger;
  readonly audit: AuditTrail;
}

/**
 * Records a device as its owner's (the limit checked atomically by the registry), logs and
 * audits it, and issues its session. The person and the policy were checked before.
 */
async function recordEnrollment(
  deps: EnrollmentRecordDeps,
  e: { mac: Mac; owner: string; platform: Platform; osVersion?: string | undefined; via: 'portal' | 'agent'; limit: number; randomised: boolean; model?: string | undefined; agentVersion?: string | undefined },
): Promise<{ device: Device; session: Session }> {
  const { mac, owner, platform, osVersion, via, randomised } = e;
  const device = await deps.devices.enroll(
    {
      mac,
      owner,
      platform,
      ...(osVersion ? { osVersion } : {}),
      enrolledAt: deps.clock.now().toISOString(),
      via,
      ...(e.model ? { model: e.model } : {}),
      ...(e.agentVersion ? { agentVersion: e.agentVersion } : {}),
      ...(randomised ? { randomisedMac: true } : {}),
    },
    e.limit,
  );
  deps.metrics.enrollments.inc({ platform });
  deps.log.info({ event: 'device.enrolled', mac, user: owner, platform, osVersion, via, ...(e.model ? { model: e.model } : {}), randomisedMac: randomised }, 'device enrolled');
  deps.audit.record({ type: 'device.enrolled', mac, user: owner, platform, ...(osVersion ? { os_version: osVersion } : {}), via, ...(randomised ? { randomised_mac: true } : {}) });
  const session = await deps.sessions.issue(mac, owner, 'enrollment');
  return { device, session };
}

/**
 * Records a PendingEnrollment once the router has proven the device (RADIUS, at the
 * redemption of the token that carries it). Resolves with why it was refused (the device
 * blocked, enrolled to somebody else or past the limit since the portal checked), or null.
 */
export async function completePendingEnrollment(
  deps: EnrollmentRecordDeps,
  p: { readonly mac: Mac; readonly user: string; readonly enroll: PendingEnrollment },
): Promise<string | null> {
  const { mac, user, enroll } = p;
  const refuse = (err: GatewayError, reason: string): string => {
    deps.log.info({ event: 'device.refused', mac, user, via: 'portal', code: err.code }, 'device refused by policy');
    deps.audit.record({ type: 'device.refused', mac, user, via: 'portal', code: err.code });
    return reason;
  };
  if (await deps.devices.blocked(mac)) return refuse(new DeviceBlockedError(), 'the device is blocked');
  try {
    await recordEnrollment(deps, { mac, owner: user, platform: enroll.platform, osVersion: enroll.osVersion, via: 'portal', limit: enroll.limit, randomised: enroll.randomisedMac === true });
    return null;
  } catch (err) {
    if (err instanceof DeviceOwnedByOtherError) return refuse(err, 'the device is enrolled to somebody else');
    if (err instanceof DeviceLimitReachedError) return refuse(err, 'the owner has reached the device limit');
    throw err;
  }
}

/** Why a person unenrolls a device (the portal offers lost / replaced; the agent sends agent). */
export type UnenrollReason = 'lost' | 'replaced' | 'agent' | (string & {});

/**
 * What people do with their devices: enroll one (which gives it a session at once),
 * log in again on a later day for a new session, see and unenroll their devices; and
 * what IT does: block a lost or stolen device. The device policy (policy.ts) is
 * applied here.
 */
export class EnrollmentService {
  private readonly administration: DeviceAdministration;

  constructor(
    private readonly deps: {
      devices: DeviceRegistry;
      sessions: SessionService;
      /** The directory behind the login throttle (the admin console's login uses the same one). */
      authenticator: Authenticator;
      policy: DevicePolicy;
      metrics: Metrics;
      clock: Clock;
      log: Logger;
      audit: AuditTrail;
    },
  ) {
    this.administration = new DeviceAdministration(deps);
  }

  /**
   * Authenticates the person, applies the policy, records the device as theirs and
   * issues its session. Checks run in this order: credentials first (so a stranger
   * cannot probe the block list or the policy without a password), then block list,
   * platform (`enrollment.platforms`), randomised MAC, OS version (an unknown one never
   * passes a minimum), and the device limit (atomic in DeviceRegistry.enroll).
   */
  async enroll(
    mac: Mac,
    platform: Platform,
    osVersion: string | undefined,
    credentials: Credentials,
    options: EnrollOptions = {},
  ): Promise<{ device: Device; session: Session; user: DirectoryUser }> {
    const user = await this.authenticate(credentials, mac);
    const via = options.via ?? 'portal';
    let randomised: boolean;
    try {
      await this.refuseBlocked(mac);
      this.deps.policy.checkPlatform(platform);
      randomised = this.deps.policy.checkMac(mac, platform).randomised;
      this.deps.policy.checkOs(platform, osVersion);
    } catch (err) {
      this.logRefused(err, mac, user.username, via);
      throw err;
    }
    const limit = this.deps.policy.limitFor(user);
    try {
      const { device, session } = await recordEnrollment(this.deps, { mac, owner: user.username, platform, osVersion, via, limit, randomised, model: options.model, agentVersion: options.agentVersion });
      return { device, session, user };
    } catch (err) {
      if (err instanceof DeviceOwnedByOtherError) this.logOwnerMismatch(mac, user);
      if (err instanceof DeviceLimitReachedError) this.logRefused(err, mac, user.username, via);
      throw err;
    }
  }

  /**
   * enroll() up to the point where the device must be proven: the person authenticated,
   * the block list, randomised MAC and OS checked, and the device limit checked as it
   * stands (the registry checks it again, atomically, when the enrollment is recorded).
   * For a device only a router's unsigned redirect names (PendingEnrollment).
   */
  async prepareEnrollment(mac: Mac, platform: Platform, osVersion: string | undefined, credentials: Credentials): Promise<{ user: DirectoryUser; pending: PendingEnrollment }> {
    const user = await this.authenticate(credentials, mac);
    const limit = this.deps.policy.limitFor(user);
    try {
      await this.refuseBlocked(mac);
      this.deps.policy.checkPlatform(platform);
      const { randomised } = this.deps.policy.checkMac(mac, platform);
      this.deps.policy.checkOs(platform, osVersion);
      const existing = await this.deps.devices.get(mac);
      if (existing && !sameUser(existing.owner, user.username)) throw new DeviceOwnedByOtherError();
      if (!existing && limit > 0 && (await this.deps.devices.listByOwner(user.username)).length >= limit) throw Object.assign(new DeviceLimitReachedError(limit), { user: user.username });
      return { user, pending: { platform, ...(osVersion ? { osVersion } : {}), limit, ...(randomised ? { randomisedMac: true } : {}) } };
    } catch (err) {
      if (err instanceof DeviceOwnedByOtherError) this.logOwnerMismatch(mac, user);
      else this.logRefused(err, mac, user.username, 'portal');
      throw err;
    }
  }

  /**
   * The policy problems that can be told before a password is asked for, or undefined. For
   * the portal's start page. To `enroll`: the block list, the platform, a randomised MAC and
   * the OS version, as enroll() checks them. To `login` with an enrolled device: the block
   * list, a randomised MAC, and the OS version when it is known (a device enrolled while its
   * platform was allowed, or before versions were required, keeps logging in).
   */
  async precheck(mac: Mac, platform: Platform, osVersion: string | undefined, purpose: 'enroll' | 'login' = 'enroll'): Promise<GatewayError | undefined> {
    try {
      await this.refuseBlocked(mac);
      if (purpose === 'enroll') this.deps.policy.checkPlatform(platform);
      this.deps.policy.checkMac(mac, platform);
      if (purpose === 'enroll' || osVersion !== undefined) this.deps.policy.checkOs(platform, osVersion);
      return undefined;
    } catch (err) {
      if (err instanceof GatewayError) return err;
      throw err;
    }
  }

  /** Whether the platform may enroll at all (enrollment.platforms): what the pages offer. */
  allows(platform: Platform): boolean {
    return this.deps.policy.allows(platform);
  }

  /** Throws PlatformNotAllowedError (403) where enrollment.platforms switches the platform off: for files that carry a new certificate. */
  checkPlatform(platform: Platform): void {
    this.deps.policy.checkPlatform(platform);
  }

  /** The platforms that may enroll, for pages that list them. */
  allowedPlatforms(): readonly Platform[] {
    return this.deps.policy.allowedPlatforms();
  }

  /** Authenticates the owner of an enrolled device and issues a new session (refused for a blocked device). */
  async login(device: Device, credentials: Credentials): Promise<Session> {
    const user = await this.authenticate(credentials, device.mac);
    if (!sameUser(device.owner, user.username)) {
      this.logOwnerMismatch(device.mac, user);
      throw new DeviceOwnedByOtherError();
    }
    try {
      await this.refuseBlocked(device.mac);
    } catch (err) {
      this.logRefused(err, device.mac, user.username, 'portal');
      throw err;
    }
    return this.deps.sessions.issue(device.mac, device.owner, 'login');
  }

  /** Checks a username and password with the directory (logged, never with the password). */
  async authenticate(credentials: Credentials, mac?: Mac): Promise<DirectoryUser> {
    try {
      const user = await this.deps.authenticator.authenticate(credentials.username, credentials.password, credentials.from);
      this.deps.metrics.portalLogins.inc({ outcome: 'success' });
      this.deps.log.info({ event: 'portal.login.succeeded', user: user.username, ...(mac ? { mac } : {}) }, 'portal login succeeded');
      this.deps.audit.record({ type: 'login.succeeded', user: user.username, ...(mac ? { mac } : {}), ...credentials.client });
      return user;
    } catch (err) {
      // Refused before the directory was asked: the throttle audited the lock once (login.throttled).
      if (err instanceof TooManyAttemptsError) throw err;
      const code = err instanceof GatewayError ? err.code : 'EG_INTERNAL';
      this.deps.metrics.portalLogins.inc({ outcome: code });
      // The username is logged as typed (it may be a mistyped password: keep it short and never log the password).
      this.deps.log.info({ event: 'portal.login.failed', user: credentials.username.slice(0, 64), ...(mac ? { mac } : {}), code }, 'portal login failed');
      this.deps.audit.record({ type: 'login.failed', user: credentials.username.slice(0, 64), ...(mac ? { mac } : {}), code, ...credentials.client });
      throw err;
    }
  }

  /** The person's enrolled devices, oldest first. */
  async devicesOf(user: DirectoryUser | string): Promise<Device[]> {
    return this.deps.devices.listByOwner(typeof user === 'string' ? user : user.username);
  }

  /**
   * Unenrolls the device when `byUser` owns it, revokes its certificates (keyCompromise
   * when it is lost, else cessationOfOperation) and ends its session at once (the
   * router hears a Disconnect-Request). False, and nothing done, when the device is not
   * enrolled or is somebody else's (callers do not tell the two apart).
   */
  async unenroll(mac: Mac, byUser: string, reason: UnenrollReason, client?: ClientFields): Promise<boolean> {
    const crlReason: CrlReasonCode = reason === 'lost' ? CRL_REASON.keyCompromise : CRL_REASON.cessationOfOperation;
    const retired = await this.deps.devices.remove(mac, { owner: byUser, reason: crlReason, at: this.deps.clock.now() });
    if (!retired) return false;
    this.deps.log.info({ event: 'device.unenrolled', mac, user: byUser, reason }, 'device unenrolled');
    this.deps.audit.record({ type: 'device.unenrolled', mac, user: byUser, reason, ...client });
    recordRevocations(this.deps, mac, retired.revoked, byUser, byUser, client);
    await this.deps.sessions.revoke(mac, `unenrolled: ${reason}`, undefined, client);
    return true;
  }

  /**
   * Names the device (or takes its name away) when `byUser` owns it; audited without the name.
   * False, and nothing done, when it is not enrolled or somebody else's.
   */
  async rename(mac: Mac, byUser: string, name: string | undefined): Promise<boolean> {
    const renamed = await this.deps.devices.rename(mac, byUser, name);
    if (!renamed) return false;
    this.deps.log.info({ event: 'device.renamed', mac, user: renamed.owner }, 'device renamed');
    this.deps.audit.record({ type: 'device.renamed', mac, user: renamed.owner });
    return true;
  }

  /** DeviceAdministration.revokeCertificate. */
  revokeCertificate(mac: Mac, serial: string, by: string, reason?: CrlReasonCode, client?: ClientFields): Promise<RevokedCertificateEntry | undefined> {
    return this.administration.revokeCertificate(mac, serial, by, reason, client);
  }

  /** DeviceAdministration.unenrollAsAdmin (the console, the API and the command line do the same). */
  unenrollAsAdmin(mac: Mac, by: string, reason: string, client?: ClientFields): Promise<boolean> {
    return this.administration.unenrollAsAdmin(mac, by, reason, client);
  }

  /** DeviceAdministration.block. */
  block(mac: Mac, by: string, reason: string, client?: ClientFields): Promise<BlockEntry> {
    return this.administration.block(mac, by, reason, client);
  }

  /** DeviceAdministration.unblock. */
  unblock(mac: Mac, by: string, client?: ClientFields): Promise<boolean> {
    return this.administration.unblock(mac, by, client);
  }

  private async refuseBlocked(mac: Mac): Promise<void> {
    if (await this.deps.devices.blocked(mac)) throw new DeviceBlockedError();
  }

  private logRefused(err: unknown, mac: Mac, user: string, via: string): void {
    if (!(err instanceof GatewayError)) return;
    this.deps.log.info({ event: 'device.refused', mac, user, via, code: err.code }, 'device refused by policy');
    this.deps.audit.record({ type: 'device.refused', mac, user, via, code: err.code });
  }

  private logOwnerMismatch(mac: Mac, user: DirectoryUser): void {
    this.deps.log.warn({ event: 'device.owner_mismatch', mac, user: user.username }, 'device is enrolled to somebody else');
  }
}
