import type { Clock } from '../clock.js';
import type { Directory, DirectoryUser } from '../directory/directory.js';
import { DeviceOwnedByOtherError, GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Session } from '../sessions/session.js';
import type { SessionService } from '../sessions/session-service.js';
import type { Device, Platform } from './device.js';
import { sameUser, type DeviceRegistry } from './device-registry.js';
import type { Mac } from './mac.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * The two things a person does at the portal: enroll a device (which gives it a
 * session at once) and, on a later day, log in again to get a new session.
 */
export class EnrollmentService {
  constructor(
    private readonly deps: {
      devices: DeviceRegistry;
      sessions: SessionService;
      directory: Directory;
      metrics: Metrics;
      clock: Clock;
      log: Logger;
    },
  ) {}

  /** Authenticates the person, records the device as theirs and issues its session. */
  async enroll(mac: Mac, platform: Platform, osVersion: string | undefined, credentials: Credentials): Promise<{ device: Device; session: Session }> {
    const user = await this.authenticate(credentials, mac);
    let device: Device;
    try {
      device = await this.deps.devices.enroll({
        mac,
        owner: user.username,
        platform,
        ...(osVersion ? { osVersion } : {}),
        enrolledAt: this.deps.clock.now().toISOString(),
      });
    } catch (err) {
      if (err instanceof DeviceOwnedByOtherError) this.logOwnerMismatch(mac, user);
      throw err;
    }
    this.deps.metrics.enrollments.inc({ platform });
    this.deps.log.info({ event: 'device.enrolled', mac, user: user.username, platform, osVersion }, 'device enrolled');
    const session = await this.deps.sessions.issue(mac, user.username, 'enrollment');
    return { device, session };
  }

  /** Authenticates the owner of an enrolled device and issues a new session. */
  async login(device: Device, credentials: Credentials): Promise<Session> {
    const user = await this.authenticate(credentials, device.mac);
    if (!sameUser(device.owner, user.username)) {
      this.logOwnerMismatch(device.mac, user);
      throw new DeviceOwnedByOtherError();
    }
    return this.deps.sessions.issue(device.mac, device.owner, 'login');
  }

  private async authenticate(credentials: Credentials, mac: Mac): Promise<DirectoryUser> {
    try {
      const user = await this.deps.directory.authenticate(credentials.username, credentials.password);
      this.deps.metrics.portalLogins.inc({ outcome: 'success' });
      this.deps.log.info({ event: 'portal.login.succeeded', user: user.username, mac }, 'portal login succeeded');
      return user;
    } catch (err) {
      const code = err instanceof GatewayError ? err.code : 'EG_INTERNAL';
      this.deps.metrics.portalLogins.inc({ outcome: code });
      // The username is logged as typed (it may be a mistyped password: keep it short and never log the password).
      this.deps.log.info({ event: 'portal.login.failed', user: credentials.username.slice(0, 64), mac, code }, 'portal login failed');
      throw err;
    }
  }

  private logOwnerMismatch(mac: Mac, user: DirectoryUser): void {
    this.deps.log.warn({ event: 'device.owner_mismatch', mac, user: user.username }, 'device is enrolled to somebody else');
  }
}
