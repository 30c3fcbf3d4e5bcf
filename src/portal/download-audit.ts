import type { Device } from '../devices/device.js';
import type { PortalDeps } from './deps.js';

/** Logs and audits a file handed out through a one-time link (profile.downloaded): it may carry a certificate. */
export function downloaded(deps: Pick<PortalDeps, 'log' | 'audit'>, device: Device, file: string): void {
  deps.log.info({ event: 'profile.downloaded', mac: device.mac, user: device.owner, platform: device.platform, file }, 'enrollment file downloaded');
  deps.audit.record({ type: 'profile.downloaded', mac: device.mac, user: device.owner, platform: device.platform, file });
}
