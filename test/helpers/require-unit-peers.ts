import { PEERS, requirePeers } from './require-peers.js';

/**
 * vitest's globalSetup for test/unit (vitest.config.ts). Unit tests start no server and
 * need none of the peers but openssl, which test/unit/pki checks the CA's certificates
 * and keys with, xmllint, which test/unit/profiles validates the Windows WLAN profiles with,
 * and nmcli, which parses the Linux page's command lines there (--offline: it starts nothing).
 */
export default function requireUnitPeers(): void {
  requirePeers(PEERS.filter((p) => p.bin === 'openssl' || p.bin === 'xmllint' || p.bin === 'nmcli'));
}
