import type { AuditTrail } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { NotEnrolledError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Mac } from '../mac.js';
import { certificateNotAfter, type IssuingCa } from '../pki/ca.js';
import { DeviceKeyGenerator, issueDeviceIdentity, type DeviceIdentity, type PkcsPassphrase } from '../pki/identity.js';
import { certificateSerial } from '../pki/serial.js';
import { recordRevocations } from './device-administration.js';
import type { DeviceRegistry } from './device-registry.js';

/** A device's EAP-TLS identity as handed out, with what identifies its certificate. */
export interface BoundIdentity extends DeviceIdentity {
  /** Canonical serial (pki/serial.ts), now in Device.certificateSerials. */
  readonly serial: string;
  readonly notAfter: Date;
}

/**
 * Issues EAP-TLS identities for enrolled devices and binds each to the enrollment
 * (DeviceRegistry.recordCertificate) before it is handed out: the iOS profile and the
 * Android agent's API both come here, so no certificate leaves the gateway unbound.
 */
export class DeviceCertificates {
  private readonly keys: DeviceKeyGenerator;

  constructor(
    private readonly deps: {
      readonly devices: DeviceRegistry;
      /** The gateway's CA, with the CRL and OCSP URLs every certificate names. */
      readonly issuer: IssuingCa;
      readonly clock: Clock;
      readonly log: Logger;
      readonly audit: AuditTrail;
      /** Shared with other issuers in the process: device keys are made one at a time. */
      readonly keys?: DeviceKeyGenerator;
    },
  ) {
    this.keys = deps.keys ?? new DeviceKeyGenerator();
  }

  /**
   * A new identity for the device of `owner`, bound to its enrollment. Throws
   * NotEnrolledError (and the certificate is revoked) when the device stopped being
   * theirs while the key was made.
   */
  async issue(device: { readonly mac: Mac; readonly owner: string }, via: 'profile' | 'agent', passphrase: PkcsPassphrase = 'random'): Promise<BoundIdentity> {
    const now = this.deps.clock.now();
    const identity = await issueDeviceIdentity(this.deps.issuer, { user: device.owner, mac: device.mac, now, passphrase }, this.keys);
    const serial = certificateSerial(identity.certificatePem);
    const notAfter = certificateNotAfter(identity.certificatePem);
    const bound = await this.deps.devices.recordCertificate(device.mac, { serial, notAfter, owner: device.owner }, now);
    if (!bound) {
      recordRevocations(this.deps, device.mac, [{ serial, revokedAt: now.toISOString(), reason: 5, notAfter: notAfter.toISOString() }]);
      throw new NotEnrolledError();
    }
    this.deps.log.info({ event: 'certificate.issued', mac: device.mac, user: device.owner, serial, via }, 'device certificate issued');
    this.deps.audit.record({ type: 'certificate.issued', mac: device.mac, user: device.owner, serial, not_after: notAfter.toISOString(), via });
    recordRevocations(this.deps, device.mac, bound.superseded);
    return { ...identity, serial, notAfter };
  }
}
