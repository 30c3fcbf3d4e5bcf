import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestGateway } from './gateway.js';

/**
 * A signed .mobileconfig as a device receives it, checked by openssl against the test
 * gateway's own CA (what iOS and macOS check it with): the plist it signs. Throws with
 * openssl's error when the signature or the chain does not verify.
 */
export function verifiedProfile(t: TestGateway, signed: Buffer): string {
  const file = join(t.dir, `verify-${randomBytes(6).toString('hex')}.mobileconfig`);
  writeFileSync(file, signed);
  return execFileSync('openssl', ['cms', '-verify', '-inform', 'der', '-in', file, '-CAfile', t.config.pki.ca_cert_file, '-purpose', 'any'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/**
 * The organisation the browser walks enroll with: its name, the profile identifier, and two
 * 802.1X networks (PEAP and EAP-TLS) pinned to its RADIUS server name.
 */
export function northwind(doc: Record<string, any>): void {
  doc.portal.organisation_name = 'Northwind Logistics';
  doc.ios = {
    profile: { identifier: 'com.northwind.wifi' },
    wifi: [
      { ssid: 'Northwind Staff', security: 'eap-peap', server_names: ['radius.northwind.example'] },
      { ssid: 'Northwind Secure', security: 'eap-tls', server_names: ['radius.northwind.example'] },
    ],
  };
}
