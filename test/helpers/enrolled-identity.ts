import { X509Certificate } from 'node:crypto';
import type { Device } from '../../src/devices/device.js';
import type { DeviceRegistry } from '../../src/devices/device-registry.js';
import type { Mac } from '../../src/mac.js';
import { normaliseSerial } from '../../src/pki/serial.js';

/**
 * Enrolls a device and binds an EAP-TLS certificate to the enrollment, as the profile
 * service and the agent API do when they issue one (the suites that issue identities
 * themselves, outside those paths). Returns the certificate's serial.
 */
export async function enrollWithCertificate(
  devices: Pick<DeviceRegistry, 'enroll' | 'recordCertificate'>,
  o: { mac: Mac; owner: string; certificatePem: string; platform?: Device['platform'] },
): Promise<string> {
  const certificate = new X509Certificate(o.certificatePem);
  const serial = normaliseSerial(certificate.serialNumber);
  await devices.enroll({ mac: o.mac, owner: o.owner, platform: o.platform ?? 'ios', enrolledAt: new Date().toISOString() });
  await devices.recordCertificate(o.mac, { serial, notAfter: new Date(certificate.validTo), owner: o.owner }, new Date());
  return serial;
}
