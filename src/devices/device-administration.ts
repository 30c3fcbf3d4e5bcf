import type { AuditTrail } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Mac } from '../mac.js';
import type { SessionService } from '../sessions/session-service.js';
import type { BlockEntry, DeviceRegistry } from './device-registry.js';

/**
 * What IT does to devices, whoever owns them: unenroll one, block a lost or stolen one,
 * unblock it. Each ends or allows sessions at once: a session ended here goes through the
 * SessionService, which tells the device's router (RFC 5176 Disconnect-Request) where it is
 * given a notifier. The admin console and API (through EnrollmentService) and the command
 * line use this one class, so each action is audited the same way wherever it is made.
 */
export class DeviceAdministration {
  constructor(
    private readonly deps: {
      devices: DeviceRegistry;
      sessions: SessionService;
      clock: Clock;
      log: Logger;
      audit: AuditTrail;
    },
  ) {}

  /**
   * Unenrolls the device whoever owns it (an admin's action, `by` the admin) and ends
   * its session at once. False when it was not enrolled.
   */
  async unenrollAsAdmin(mac: Mac, by: string, reason: string): Promise<boolean> {
    const device = await this.deps.devices.get(mac);
    if (!device || !(await this.deps.devices.unenroll(mac))) return false;
    this.deps.log.info({ event: 'device.unenrolled', mac, user: device.owner, reason, by }, 'device unenrolled by an admin');
    this.deps.audit.record({ type: 'device.unenrolled', mac, user: device.owner, reason, by });
    await this.deps.sessions.revoke(mac, `unenrolled: ${reason}`, by);
    return true;
  }

  /**
   * Puts the MAC on the block list and ends its session at once. The device stays
   * enrolled (its owner sees it), but cannot enroll, log in or get a session until unblocked.
   */
  async block(mac: Mac, by: string, reason: string): Promise<BlockEntry> {
    const entry = await this.deps.devices.block(mac, { by, reason, at: this.deps.clock.now().toISOString() });
    this.deps.log.info({ event: 'device.blocked', mac, by, reason }, 'device blocked');
    this.deps.audit.record({ type: 'device.blocked', mac, by, reason });
    await this.deps.sessions.revoke(mac, 'blocked', by);
    return entry;
  }

  /** Takes the MAC off the block list; true when it was on it. */
  async unblock(mac: Mac, by: string): Promise<boolean> {
    const had = await this.deps.devices.unblock(mac);
    if (had) {
      this.deps.log.info({ event: 'device.unblocked', mac, by }, 'device unblocked');
      this.deps.audit.record({ type: 'device.unblocked', mac, by });
    }
    return had;
  }
}
