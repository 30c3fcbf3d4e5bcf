import type { AuditTrail, ClientFields } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Mac } from '../mac.js';
import { CRL_REASON, crlReasonName, type CrlReasonCode, type RevokedCertificateEntry } from '../pki/revocation-reasons.js';
import type { SessionService } from '../sessions/session-service.js';
import type { BlockEntry, DeviceRegistry } from './device-registry.js';

/** Audits and logs each certificate revocation (certificate.revoked); `owner`: the device's, `client`: where `by` acted from. */
export function recordRevocations(
  deps: { log: Logger; audit: AuditTrail },
  mac: Mac,
  entries: readonly RevokedCertificateEntry[],
  by?: string,
  owner?: string,
  client?: ClientFields,
): void {
  for (const e of entries) {
    const reason = crlReasonName(e.reason);
    deps.log.info({ event: 'certificate.revoked', mac, serial: e.serial, reason, ...(by ? { by } : {}) }, 'certificate revoked');
    deps.audit.record({ type: 'certificate.revoked', mac, ...(owner ? { user: owner } : {}), serial: e.serial, reason, ...(by ? { by } : {}), ...client });
  }
}

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
   * Unenrolls the device whoever owns it (an admin's action, `by` the admin), revokes its
   * certificates (cessationOfOperation) and ends its session at once. False when it was
   * not enrolled.
   */
  async unenrollAsAdmin(mac: Mac, by: string, reason: string, client?: ClientFields): Promise<boolean> {
    const retired = await this.deps.devices.remove(mac, { reason: CRL_REASON.cessationOfOperation, at: this.deps.clock.now() });
    if (!retired) return false;
    const { device } = retired;
    this.deps.log.info({ event: 'device.unenrolled', mac, user: device.owner, reason, by }, 'device unenrolled by an admin');
    this.deps.audit.record({ type: 'device.unenrolled', mac, user: device.owner, reason, by, ...client });
    recordRevocations(this.deps, mac, retired.revoked, by, device.owner, client);
    await this.deps.sessions.revoke(mac, `unenrolled: ${reason}`, by, client);
    return true;
  }

  /**
   * Puts the MAC on the block list, revokes the device's certificates (keyCompromise: it
   * is lost or stolen) and ends its session at once. The device stays enrolled (its owner
   * sees it), but cannot enroll, log in or get a session until unblocked.
   */
  async block(mac: Mac, by: string, reason: string, client?: ClientFields): Promise<BlockEntry> {
    // Whose device it is, for the trail: a search for the person finds their stolen phone blocked.
    const owner = (await this.deps.devices.get(mac))?.owner;
    const { revoked, ...entry } = await this.deps.devices.block(mac, { by, reason, at: this.deps.clock.now().toISOString() });
    this.deps.log.info({ event: 'device.blocked', mac, by, reason }, 'device blocked');
    this.deps.audit.record({ type: 'device.blocked', mac, ...(owner ? { user: owner } : {}), by, reason, ...client });
    recordRevocations(this.deps, mac, revoked, by, owner, client);
    await this.deps.sessions.revoke(mac, 'blocked', by, client);
    return entry;
  }

  /**
   * Revokes one certificate of the device (`serial` in any spelling normaliseSerial
   * takes) and unbinds it; the device stays enrolled. Undefined when the serial is not
   * one of the enrolled device's certificates.
   */
  async revokeCertificate(mac: Mac, serial: string, by: string, reason: CrlReasonCode = CRL_REASON.unspecified, client?: ClientFields): Promise<RevokedCertificateEntry | undefined> {
    const entry = await this.deps.devices.revokeCertificate(mac, serial, reason, this.deps.clock.now());
    if (entry) recordRevocations(this.deps, mac, [entry], by, (await this.deps.devices.get(mac))?.owner, client);
    return entry;
  }

  /** Takes the MAC off the block list; true when it was on it. */
  async unblock(mac: Mac, by: string, client?: ClientFields): Promise<boolean> {
    const had = await this.deps.devices.unblock(mac);
    if (had) {
      const owner = (await this.deps.devices.get(mac))?.owner;
      this.deps.log.info({ event: 'device.unblocked', mac, by }, 'device unblocked');
      this.deps.audit.record({ type: 'device.unblocked', mac, ...(owner ? { user: owner } : {}), by, ...client });
    }
    return had;
  }
}
